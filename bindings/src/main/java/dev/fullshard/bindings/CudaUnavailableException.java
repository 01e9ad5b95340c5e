package dev.fullshard.bindings;

/** CUDA (libtorch_cuda, the CUDA runtime, cuBLAS or NCCL) is not there; the message says what is missing and what to do. */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }
}
