package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Where the CUDA libraries are searched for (pure functions over a fake folder tree, nothing loaded),
 * and what a machine with a CPU-only libtorch sees: clear {@link CudaUnavailableException}s, never an
 * UnsatisfiedLinkError or a class-initialisation error.
 */
class CudaLibrariesTest {

    // ------------------------------------------------------------------ the search, on a fake tree

    /** {@code site-packages/} with torch/lib and NVIDIA's wheels laid out as PyTorch's CUDA 13 and 12 builds have them. */
    private static Path fakeSitePackages(Path root) throws IOException {
        Path site = root.resolve("venv/lib/python3.12/site-packages");
        for (String file : List.of("torch/lib/libtorch_cpu.so", "torch/lib/libtorch_cuda.so",
                "nvidia/cu13/lib/libcudart.so.13", "nvidia/cu13/lib/libcublas.so.13", "nvidia/cu13/lib/libcublasLt.so.13",
                "nvidia/cublas/lib/libcublas.so.12", "nvidia/nccl/lib/libnccl.so.2", "nvidia/cudnn/lib/libcudnn.so.9")) {
            Files.createDirectories(site.resolve(file).getParent());
            Files.writeString(site.resolve(file), "");
        }
        Files.createDirectories(site.resolve("nvidia/__pycache__"));   // no lib/ inside: not a candidate
        return site;
    }

    @Test
    void wheelFoldersAreEveryNvidiaPackagesLibBesideTorch(@TempDir Path tmp) throws IOException {
        Path site = fakeSitePackages(tmp);

        assertThat(CudaLibraries.wheelFolders(site.resolve("torch/lib"))).containsExactly(
                site.resolve("nvidia/cu13/lib"), site.resolve("nvidia/cublas/lib"), site.resolve("nvidia/cudnn/lib"),
                site.resolve("nvidia/nccl/lib"));
        assertThat(CudaLibraries.wheelFolders(tmp.resolve("no/such/torch/lib"))).isEmpty();
    }

    @Test
    void theNewestSonameWinsOverTheFolderOrder(@TempDir Path tmp) throws IOException {
        Path site = fakeSitePackages(tmp);
        List<Path> folders = CudaLibraries.wheelFolders(site.resolve("torch/lib"));

        assertThat(CudaLibraries.firstFile(folders, CudaLibraries.CUDART)).contains(site.resolve("nvidia/cu13/lib/libcudart.so.13"));
        assertThat(CudaLibraries.firstFile(folders, CudaLibraries.CUBLAS)).contains(site.resolve("nvidia/cu13/lib/libcublas.so.13"));
        assertThat(CudaLibraries.firstFile(folders, CudaLibraries.NCCL)).contains(site.resolve("nvidia/nccl/lib/libnccl.so.2"));
        assertThat(CudaLibraries.firstFile(List.of(site.resolve("nvidia/cublas/lib")), CudaLibraries.CUBLAS))
                .contains(site.resolve("nvidia/cublas/lib/libcublas.so.12"));
        assertThat(CudaLibraries.firstFile(List.of(site.resolve("torch/lib")), CudaLibraries.CUDART)).isEmpty();
    }

    @Test
    void aLoadedLibraryIsFoundBySonameOrBehindItsVersionedFileName() {
        List<Path> mapped = List.of(Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6"),
                Path.of("/usr/local/cuda-12.8/lib64/libcudart.so.12.8.90"), Path.of("/venv/nvidia/nccl/lib/libnccl.so.2"));

        assertThat(CudaLibraries.mappedFile(mapped, "libcudart.so.12")).contains(Path.of("/usr/local/cuda-12.8/lib64/libcudart.so.12.8.90"));
        assertThat(CudaLibraries.mappedFile(mapped, "libnccl.so.2")).contains(Path.of("/venv/nvidia/nccl/lib/libnccl.so.2"));
        assertThat(CudaLibraries.mappedFile(mapped, "libcudart.so.13")).isEmpty();
        assertThat(CudaLibraries.mappedFile(mapped, "libcudart.so.1")).isEmpty();
    }

    // ------------------------------------------------------------------ a CPU-only libtorch

    /** The tests below describe a machine without CUDA. */
    private static void assumeCpuOnlyLibtorch() {
        assumeFalse(TorchLibrary.load().libraries().stream().anyMatch(p -> p.getFileName().toString().equals("libtorch_cuda.so")),
                "the loaded libtorch is a CUDA build");
    }

    @Test
    void requireNamesTheMissingLibtorchCudaAndTheFix() {
        assumeCpuOnlyLibtorch();
        assertThatThrownBy(CudaLibraries::require).isInstanceOf(CudaUnavailableException.class)
                .hasMessageStartingWith("CUDA is not available: the loaded libtorch (")
                .hasMessageContaining("is a CPU-only build (no libtorch_cuda.so)")
                .hasMessageContaining("install a CUDA build of PyTorch 2.10+ or point --torch-lib/FULLSHARD_TORCH_LIB at one");
        assertThat(CudaLibraries.available()).isFalse();
    }

    @Test
    void statusSaysWhyWithoutThrowing() {
        assumeCpuOnlyLibtorch();
        CudaLibraries.Status s = CudaLibraries.status();

        assertThat(s.unavailable()).hasValueSatisfying(why -> assertThat(why).contains("CPU-only build (no libtorch_cuda.so)"));
        assertThat(s.libraries()).singleElement().satisfies(l -> {
            assertThat(l.name()).isEqualTo("libtorch_cuda.so");
            assertThat(l.file()).isEmpty();
        });
        assertThat(List.of(s.cudartLoaded(), s.cublasLoaded(), s.ncclLoaded())).containsOnly(false);
    }

    @Test
    void everyBindingThrowsCudaUnavailableOnEveryCall() {
        assumeCpuOnlyLibtorch();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            for (int attempt = 0; attempt < 2; attempt++) {   // the second call must not see a failed class initialiser
                assertThatThrownBy(() -> CudaRuntime.cudaGetDeviceCount(out)).isInstanceOf(CudaUnavailableException.class)
                        .hasMessageContaining("libtorch_cuda.so");
                assertThatThrownBy(() -> CudaRuntime.cudaGetErrorString(0)).isInstanceOf(CudaUnavailableException.class);
                assertThatThrownBy(() -> Cublas.cublasCreate_v2(out)).isInstanceOf(CudaUnavailableException.class);
                assertThatThrownBy(() -> Nccl.ncclGetUniqueId(arena.allocate(Nccl.UNIQUE_ID))).isInstanceOf(CudaUnavailableException.class);
                assertThatThrownBy(() -> TorchCuda.aoti_torch_get_current_cuda_stream(0, out)).isInstanceOf(CudaUnavailableException.class);
                assertThatThrownBy(() -> CudaRuntime.check(2, "cudaMalloc")).isInstanceOf(CudaUnavailableException.class);
            }
        }
    }

    @Test
    void aMissingLibrarysHandlesThrowForEveryReturnType() throws Throwable {
        NativeLibrary missing = NativeLibrary.missing("libnothing.so", () -> new CudaUnavailableException("no libnothing"));
        MethodHandle voidFn = missing.downcall("f", FunctionDescriptor.ofVoid(JAVA_LONG, ADDRESS));
        MethodHandle pointerFn = missing.downcall("g", FunctionDescriptor.of(ADDRESS, JAVA_INT));

        assertThat(missing.find("f")).isEmpty();
        assertThatThrownBy(() -> {
            voidFn.invokeExact(1L, MemorySegment.NULL);
        }).isInstanceOf(CudaUnavailableException.class).hasMessage("no libnothing");
        assertThatThrownBy(() -> {
            MemorySegment ignored = (MemorySegment) pointerFn.invokeExact(3);
        }).isInstanceOf(CudaUnavailableException.class);
    }
}
