package dev.fullshard.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a user sees from {@code fullshard doctor} when an old PyTorch sits in the active virtualenv:
 * it is skipped with a note saying why, and the bundled CPU build is loaded instead.
 */
class DiscoveryEndToEndTest {
    /** Variables that steer discovery, removed from the child's environment unless set below. */
    private static final List<String> DISCOVERY_ENV = List.of("FULLSHARD_TORCH_LIB", "FULLSHARD_NUM_THREADS",
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH");

    @Test
    void doctorSkipsAnOldPyTorchInTheVirtualenvWithANoteAndUsesTheBundledBuild(@TempDir Path tmp) throws Exception {
        Path venv = tmp.resolve("venv");
        Path torch = Files.createDirectories(venv.resolve("lib/python3.11/site-packages/torch"));
        Files.writeString(torch.resolve("version.py"), "__version__ = '1.13.1'\n");
        // A library file that must never be loaded: if the version check let this install through, doctor would fail.
        Files.createDirectories(torch.resolve("lib"));
        Files.writeString(torch.resolve("lib/libtorch_cpu.so"), "not a shared library");

        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                // no ~/.local candidates; the cache stays where an earlier run of this user extracted the bundled build
                "-Duser.home=" + tmp.resolve("home"), "-Dfullshard.cache.dir=" + defaultCacheRoot(),
                "-cp", System.getProperty("java.class.path"), FullshardCommand.class.getName(), "doctor"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Path output = Files.createTempFile(tmp, "doctor", ".out");
        pb.redirectOutput(output.toFile());
        Map<String, String> env = pb.environment();
        DISCOVERY_ENV.forEach(env::remove);
        env.put("VIRTUAL_ENV", venv.toString());
        env.put("FULLSHARD_NUM_THREADS", "1");
        env.put("PATH", Path.of(java).getParent().toString()); // no python on PATH: the venv is the only user-level candidate
        Process p = pb.start();
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("doctor finished").isTrue();
        String out = Files.readString(output, StandardCharsets.UTF_8);

        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("  note     skipped " + torch + ": PyTorch 1.13.1 is older than 2.10");
        assertThat(out).doesNotContain("from     " + torch.resolve("lib"));
        List<Path> system = systemPyTorchInstalls();
        assumeTrue(system.isEmpty(), "a PyTorch is installed in a system folder, which discovery may pick: " + system);
        assertThat(out)
                .contains("  note     no usable PyTorch installation found; using the bundled CPU build")
                .contains("libtorch:  bundled CPU build org.bytedeco:pytorch:2.10.0")
                .containsPattern("from +\\S+ \\(bundled\\)")
                .contains(": ok");
    }

    /** Where TorchLibrary caches the bundled build for this user when nothing else is configured. */
    private static Path defaultCacheRoot() {
        String dir = System.getenv("FULLSHARD_CACHE_DIR");
        if (dir != null) return Path.of(dir);
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("fullshard");
    }

    /** torch packages under /usr and /usr/local, which discovery always searches. */
    private static List<Path> systemPyTorchInstalls() throws IOException {
        List<Path> found = new ArrayList<>();
        for (Path lib : List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib"))) {
            if (!Files.isDirectory(lib)) continue;
            try (Stream<Path> pythons = Files.list(lib)) {
                for (Path py : pythons.filter(p -> p.getFileName().toString().startsWith("python3")).toList()) {
                    for (String sub : List.of("site-packages", "dist-packages")) {
                        if (Files.isDirectory(py.resolve(sub).resolve("torch"))) found.add(py.resolve(sub).resolve("torch"));
                    }
                }
            }
        }
        return found;
    }
}
