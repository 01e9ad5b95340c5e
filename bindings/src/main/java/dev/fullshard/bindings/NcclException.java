package dev.fullshard.bindings;

/** An NCCL call returned an error; the message carries NCCL's own text. */
public final class NcclException extends RuntimeException {
    private final int code;

    public NcclException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The ncclResult_t, e.g. {@link Nccl#IN_PROGRESS}. */
    public int code() {
        return code;
    }
}
