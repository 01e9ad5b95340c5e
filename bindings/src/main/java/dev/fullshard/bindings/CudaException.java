package dev.fullshard.bindings;

/** A CUDA runtime, cuBLAS or libtorch CUDA call returned an error; the message carries the library's own text. */
public final class CudaException extends RuntimeException {
    private final int code;

    public CudaException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The library's return code (a cudaError_t, cublasStatus_t or AOTITorchError). */
    public int code() {
        return code;
    }
}
