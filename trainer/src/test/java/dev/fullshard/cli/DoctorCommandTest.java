package dev.fullshard.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs {@code fullshard doctor} as a user would: in a fresh JVM, reading its output and exit code. */
class DoctorCommandTest {
    record Result(int exitCode, String output) {
    }

    static Result runFullshard(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), FullshardCommand.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("fullshard finished").isTrue();
        return new Result(p.exitValue(), out);
    }

    @Test
    void reportsJavaLibtorchThreadsAndPassesTheSelfTest() throws Exception {
        Result r = runFullshard(Map.of("FULLSHARD_TORCH_LIB", "bundled", "FULLSHARD_NUM_THREADS", "1"), "doctor");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output())
                .contains("Java:      25")
                .contains("bundled CPU build org.bytedeco:pytorch:2.10.0")
                .containsPattern("ABI +2\\.10\\.0")
                .contains("Threads:   1 intra-op (OMP_NUM_THREADS=1")
                .contains("CUDA:      not available: the loaded libtorch (")
                .contains("is a CPU-only build (no libtorch_cuda.so)")
                .contains("NCCL:      not loaded")
                .contains("MPI:")
                .contains("matmul on cpu, max |error| vs Java float64")
                .contains(": ok");
    }

    @Test
    void failsWithTheReasonWhenLibtorchCannotBeLoaded() throws Exception {
        Path missing = Path.of("/nonexistent/torch/lib");
        Result r = runFullshard(Map.of(), "doctor", "--torch-lib", missing.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("libtorch:  NOT LOADED").contains(missing.toString()).contains("has no libtorch_cpu.so");
    }
}
