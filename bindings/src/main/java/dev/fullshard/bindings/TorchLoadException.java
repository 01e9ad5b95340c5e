package dev.fullshard.bindings;

/** libtorch could not be found or loaded; the message says where fullshard looked and what to do. */
public final class TorchLoadException extends RuntimeException {
    public TorchLoadException(String message) {
        super(message);
    }

    public TorchLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
