package dev.fullshard.bindings;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA bindings against a real GPU, on device 0: skipped unless {@link CudaLibraries#available()}
 * (a CUDA build of libtorch and a visible GPU).
 */
class CudaGpuTest {
    @BeforeAll
    static void needsAGpu() {
        assumeTrue(CudaLibraries.available(), "no CUDA libtorch or no visible GPU (fullshard doctor says why)");
    }

    /** The versions and GPUs as doctor reports them: the cli's CudaReportTest. */
    @Test
    void statusFindsEveryLibraryAsLoaded() {
        CudaLibraries.Status s = CudaLibraries.status();

        assertThat(s.unavailable()).isEmpty();
        assertThat(s.libraries()).hasSize(4).allSatisfy(l -> assertThat(l.file()).as(l.name()).isPresent());
        assertThat(List.of(s.cudartLoaded(), s.cublasLoaded(), s.ncclLoaded())).containsOnly(true);
        assertThat(CudaLibraries.require().cudart()).isEqualTo(s.libraries().get(1).file().orElseThrow());
    }

    @Test
    void memoryStreamsAndTimingEvents() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS), stream = arena.allocate(ADDRESS);
            MemorySegment start = arena.allocate(ADDRESS), end = arena.allocate(ADDRESS), ms = arena.allocate(JAVA_FLOAT);
            CudaRuntime.check(CudaRuntime.cudaSetDevice(0), "cudaSetDevice");
            CudaRuntime.check(CudaRuntime.cudaMalloc(p, 1 << 20), "cudaMalloc");
            CudaRuntime.check(CudaRuntime.cudaStreamCreateWithFlags(stream, CudaRuntime.STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
            CudaRuntime.check(CudaRuntime.cudaEventCreateWithFlags(start, 0), "cudaEventCreateWithFlags");
            CudaRuntime.check(CudaRuntime.cudaEventCreateWithFlags(end, 0), "cudaEventCreateWithFlags");
            CudaRuntime.check(CudaRuntime.cudaEventRecord(start.get(ADDRESS, 0), stream.get(ADDRESS, 0)), "cudaEventRecord");
            CudaRuntime.check(CudaRuntime.cudaMemset(p.get(ADDRESS, 0), 0x3c, 1 << 20), "cudaMemset");
            CudaRuntime.check(CudaRuntime.cudaEventRecord(end.get(ADDRESS, 0), stream.get(ADDRESS, 0)), "cudaEventRecord");
            CudaRuntime.check(CudaRuntime.cudaEventSynchronize(end.get(ADDRESS, 0)), "cudaEventSynchronize");
            assertThat(CudaRuntime.cudaEventQuery(end.get(ADDRESS, 0))).isEqualTo(CudaRuntime.SUCCESS);
            CudaRuntime.check(CudaRuntime.cudaEventElapsedTime(ms, start.get(ADDRESS, 0), end.get(ADDRESS, 0)), "cudaEventElapsedTime");
            assertThat(ms.get(JAVA_FLOAT, 0)).isGreaterThanOrEqualTo(0f);

            MemorySegment host = arena.allocate(16);
            CudaRuntime.check(CudaRuntime.cudaMemcpy(host, p.get(ADDRESS, 0), 16, CudaRuntime.MEMCPY_DEVICE_TO_HOST), "cudaMemcpy");
            assertThat(host.toArray(JAVA_BYTE)).containsOnly((byte) 0x3c);

            CudaRuntime.check(CudaRuntime.cudaEventDestroy(start.get(ADDRESS, 0)), "cudaEventDestroy");
            CudaRuntime.check(CudaRuntime.cudaEventDestroy(end.get(ADDRESS, 0)), "cudaEventDestroy");
            CudaRuntime.check(CudaRuntime.cudaStreamDestroy(stream.get(ADDRESS, 0)), "cudaStreamDestroy");
            CudaRuntime.check(CudaRuntime.cudaFree(p.get(ADDRESS, 0)), "cudaFree");
        }
    }

    @Test
    void errorsCarryTheRuntimesNameAndText() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            int rc = CudaRuntime.cudaMalloc(p, Long.MAX_VALUE / 2);
            CudaRuntime.cudaGetLastError();   // clears the (non-sticky) error so later calls do not report it
            assertThatThrownBy(() -> CudaRuntime.check(rc, "cudaMalloc"))
                    .isInstanceOf(CudaException.class).hasMessageStartingWith("cudaMalloc failed: error 2 cudaErrorMemoryAllocation: ");
        }
    }

    /** C = A·B for A (2×3) and B (3×2) in float32, column-major as cuBLAS wants them. */
    @Test
    void cublasGemmExMatchesJava() {
        float[] a = {1, 4, 2, 5, 3, 6};          // columns of [[1,2,3],[4,5,6]]
        float[] b = {7, 9, 11, 8, 10, 12};       // columns of [[7,8],[9,10],[11,12]]
        float[] expected = {58, 139, 64, 154};   // columns of [[58,64],[139,154]]
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ADDRESS);
            MemorySegment da = device(arena, a), db = device(arena, b), dc = device(arena, new float[4]);
            Cublas.check(Cublas.cublasCreate_v2(handle), "cublasCreate_v2");
            Cublas.check(Cublas.cublasGemmEx(handle.get(ADDRESS, 0), Cublas.OP_N, Cublas.OP_N, 2, 2, 3,
                    arena.allocateFrom(JAVA_FLOAT, 1f), da, Cublas.R_32F, 2, db, Cublas.R_32F, 3,
                    arena.allocateFrom(JAVA_FLOAT, 0f), dc, Cublas.R_32F, 2, Cublas.COMPUTE_32F, Cublas.GEMM_DEFAULT), "cublasGemmEx");
            MemorySegment c = arena.allocate(JAVA_FLOAT, 4);
            CudaRuntime.check(CudaRuntime.cudaMemcpy(c, dc, c.byteSize(), CudaRuntime.MEMCPY_DEVICE_TO_HOST), "cudaMemcpy");
            assertThat(c.toArray(JAVA_FLOAT)).containsExactly(expected, within(1e-4f));
            Cublas.check(Cublas.cublasDestroy_v2(handle.get(ADDRESS, 0)), "cublasDestroy_v2");
            for (MemorySegment d : new MemorySegment[]{da, db, dc}) CudaRuntime.check(CudaRuntime.cudaFree(d), "cudaFree");
        }
    }

    /** A one-rank communicator: the 128-byte unique id goes by value, and a sum over one rank is the identity. */
    @Test
    void ncclAllReduceOverOneRank() {
        float[] x = {1, 2, 3};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocate(Nccl.UNIQUE_ID), comm = arena.allocate(ADDRESS), stream = arena.allocate(ADDRESS);
            CudaRuntime.check(CudaRuntime.cudaSetDevice(0), "cudaSetDevice");
            Nccl.check(Nccl.ncclGetUniqueId(id), "ncclGetUniqueId");
            Nccl.check(Nccl.ncclCommInitRank(comm, 1, id, 0), "ncclCommInitRank");
            CudaRuntime.check(CudaRuntime.cudaStreamCreateWithFlags(stream, CudaRuntime.STREAM_NON_BLOCKING), "cudaStreamCreateWithFlags");
            MemorySegment buf = device(arena, x);
            Nccl.check(Nccl.ncclAllReduce(buf, buf, x.length, Nccl.FLOAT32, Nccl.SUM, comm.get(ADDRESS, 0), stream.get(ADDRESS, 0)), "ncclAllReduce");
            CudaRuntime.check(CudaRuntime.cudaStreamSynchronize(stream.get(ADDRESS, 0)), "cudaStreamSynchronize");
            MemorySegment out = arena.allocate(JAVA_FLOAT, x.length);
            CudaRuntime.check(CudaRuntime.cudaMemcpy(out, buf, out.byteSize(), CudaRuntime.MEMCPY_DEVICE_TO_HOST), "cudaMemcpy");
            assertThat(out.toArray(JAVA_FLOAT)).containsExactly(x);
            MemorySegment async = arena.allocate(JAVA_INT);
            Nccl.check(Nccl.ncclCommGetAsyncError(comm.get(ADDRESS, 0), async), "ncclCommGetAsyncError");
            assertThat(async.get(JAVA_INT, 0)).isEqualTo(Nccl.SUCCESS);
            Nccl.check(Nccl.ncclCommFinalize(comm.get(ADDRESS, 0)), "ncclCommFinalize");
            Nccl.check(Nccl.ncclCommDestroy(comm.get(ADDRESS, 0)), "ncclCommDestroy");
            CudaRuntime.check(CudaRuntime.cudaStreamDestroy(stream.get(ADDRESS, 0)), "cudaStreamDestroy");
            CudaRuntime.check(CudaRuntime.cudaFree(buf), "cudaFree");
        }
    }

    @Test
    void libtorchsCurrentStreamAndDeviceGuard() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stream = arena.allocate(ADDRESS), guard = arena.allocate(ADDRESS);
            TorchCuda.check(TorchCuda.aoti_torch_create_cuda_guard(0, guard), "aoti_torch_create_cuda_guard");
            TorchCuda.check(TorchCuda.aoti_torch_cuda_guard_set_index(guard.get(ADDRESS, 0), 0), "aoti_torch_cuda_guard_set_index");
            TorchCuda.check(TorchCuda.aoti_torch_get_current_cuda_stream(0, stream), "aoti_torch_get_current_cuda_stream");
            // libtorch's default stream is the legacy null stream until someone sets another one
            CudaRuntime.check(CudaRuntime.cudaStreamSynchronize(stream.get(ADDRESS, 0)), "cudaStreamSynchronize");
            TorchCuda.check(TorchCuda.aoti_torch_delete_cuda_guard(guard.get(ADDRESS, 0)), "aoti_torch_delete_cuda_guard");
        }
    }

    /** A device copy of {@code values}; the caller frees it. */
    private static MemorySegment device(Arena arena, float[] values) {
        MemorySegment p = arena.allocate(ADDRESS);
        CudaRuntime.check(CudaRuntime.cudaMalloc(p, 4L * values.length), "cudaMalloc");
        MemorySegment host = arena.allocateFrom(JAVA_FLOAT, values);
        CudaRuntime.check(CudaRuntime.cudaMemcpy(p.get(ADDRESS, 0), host, host.byteSize(), CudaRuntime.MEMCPY_HOST_TO_DEVICE), "cudaMemcpy");
        return p.get(ADDRESS, 0);
    }
}
