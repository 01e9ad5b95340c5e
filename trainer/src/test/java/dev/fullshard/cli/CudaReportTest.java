package dev.fullshard.cli;

import dev.fullshard.bindings.CudaLibraries;
import dev.fullshard.bindings.TorchLibrary;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The CUDA part of {@code fullshard doctor}, on a machine with a CPU-only libtorch and on one with a GPU. */
class CudaReportTest {
    @Test
    void withACpuOnlyLibtorchTheReportSaysWhyWithoutThrowing() {
        assumeFalse(TorchLibrary.load().libraries().stream().anyMatch(p -> p.getFileName().toString().equals("libtorch_cuda.so")),
                "the loaded libtorch is a CUDA build");
        CudaReport r = CudaReport.probe();

        assertThat(r.unavailable()).hasValueSatisfying(why -> assertThat(why).contains("CPU-only build (no libtorch_cuda.so)"));
        assertThat(r.gpus()).isEmpty();
        assertThat(r.libraries()).singleElement().satisfies(l -> {
            assertThat(l.name()).isEqualTo("libtorch_cuda.so");
            assertThat(l.file()).isEmpty();
        });
        assertThat(List.of(r.runtimeVersion(), r.driverVersion(), r.cublasVersion(), r.ncclVersion())).containsOnly("not loaded");
    }

    @Test
    void withAGpuTheReportDescribesEveryGpuAndVersion() {
        assumeTrue(CudaLibraries.available(), "no CUDA libtorch or no visible GPU");
        CudaReport r = CudaReport.probe();

        assertThat(r.unavailable()).isEmpty();
        assertThat(r.libraries()).hasSize(4).allSatisfy(l -> assertThat(l.file()).as(l.name()).isPresent());
        assertThat(r.runtimeVersion()).matches("1[2-9]\\.\\d+");
        assertThat(r.cublasVersion()).matches("\\d+\\.\\d+\\.\\d+");
        assertThat(r.ncclVersion()).matches("2\\.\\d+\\.\\d+");
        assertThat(r.gpus()).isNotEmpty().allSatisfy(g -> {
            assertThat(g.name()).isNotBlank();
            assertThat(g.freeBytes()).isPositive().isLessThanOrEqualTo(g.totalBytes());
            assertThat(g.computeMajor()).isGreaterThanOrEqualTo(7);
            assertThat(g.multiprocessors()).isPositive();
        });
        assertThat(CudaLibraries.require().cudart()).isEqualTo(r.libraries().get(1).file().orElseThrow());
    }
}
