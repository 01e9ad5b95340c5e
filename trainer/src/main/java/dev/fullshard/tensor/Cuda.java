package dev.fullshard.tensor;

import dev.fullshard.bindings.CudaRuntime;
import dev.fullshard.bindings.TorchCuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few CUDA runtime services the trainer needs beside libtorch's kernels: the current device, libtorch's
 * current stream, events, synchronisation and memory use. Every method throws
 * {@link dev.fullshard.bindings.CudaUnavailableException} with the reason on a machine without CUDA.
 */
public final class Cuda {
    private Cuda() {
    }

    /** Bytes of device memory: free, and in all (what {@code cudaMemGetInfo} reports for the current device). */
    public record Memory(long free, long total) {
        public long used() {
            return total - free;
        }
    }

    /** Number of visible GPUs. */
    public static int deviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            CudaRuntime.check(CudaRuntime.cudaGetDeviceCount(n), "cudaGetDeviceCount");
            return n.get(JAVA_INT, 0);
        }
    }

    /** Makes {@code device} the calling thread's current CUDA device. */
    public static void setDevice(Device device) {
        requireCuda(device);
        CudaRuntime.check(CudaRuntime.cudaSetDevice(device.index()), "cudaSetDevice(" + device.index() + ")");
    }

    /** Waits until all work queued on {@code device} is done; nothing on the CPU. */
    public static void synchronize(Device device) {
        if (device.type() != Device.Type.CUDA) return;
        setDevice(device);
        CudaRuntime.check(CudaRuntime.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    /** Free and total memory of {@code device}. */
    public static Memory memory(Device device) {
        setDevice(device);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG), total = arena.allocate(JAVA_LONG);
            CudaRuntime.check(CudaRuntime.cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return new Memory(free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0));
        }
    }

    /** The stream libtorch queues this thread's kernels on for {@code device} (a {@code cudaStream_t}). */
    public static MemorySegment currentStream(Device device) {
        requireCuda(device);
        MemorySegment cell = Scratch.get().cell;
        TorchCuda.check(TorchCuda.aoti_torch_get_current_cuda_stream(device.index(), cell), "aoti_torch_get_current_cuda_stream(" + device + ")");
        return cell.get(ADDRESS, 0);
    }

    /** A new event without timing (the cheap kind), for ordering streams; the caller destroys it. */
    public static MemorySegment newEvent() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cell = arena.allocate(ADDRESS);
            CudaRuntime.check(CudaRuntime.cudaEventCreateWithFlags(cell, CudaRuntime.EVENT_DISABLE_TIMING), "cudaEventCreateWithFlags");
            return cell.get(ADDRESS, 0);
        }
    }

    public static void destroyEvent(MemorySegment event) {
        CudaRuntime.check(CudaRuntime.cudaEventDestroy(event), "cudaEventDestroy");
    }

    private static void requireCuda(Device device) {
        if (device.type() != Device.Type.CUDA) throw new IllegalArgumentException("not a CUDA device: " + device);
    }
}
