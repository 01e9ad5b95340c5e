package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where libtorch comes from: version parsing of PyTorch installs (in process), and the choices that
 * depend on the environment of a starting JVM (each in its own {@link LoadProbe} JVM, so this test
 * JVM's own, already loaded libtorch does not matter).
 */
class LibraryDiscoveryTest {

    // ------------------------------------------------------------------ PyTorch versions

    @ParameterizedTest(name = "\"{0}\" is at least 2.10: {1}")
    @CsvSource({
            "2.11.0+cu130, true",
            "2.10.0, true",
            "2.10.0a0+git1234abc, true",
            "3.0.0, true",
            "2.9.1, false",
            "2.1.2+cpu, false",
            "1.13.1, false",
            "garbage, false",
            "'', false",
            "v2.10.0, false"})
    void atLeastParsesPyTorchVersionStrings(String version, boolean expected) {
        assertThat(PyTorchInstalls.atLeast(version, 2, 10)).isEqualTo(expected);
    }

    @Test
    void versionIsReadFromVersionPyWithoutRunningPython(@TempDir Path dir) throws IOException {
        Path single = Files.createDirectories(dir.resolve("a/torch"));
        Files.writeString(single.resolve("version.py"), "from typing import Optional\n__version__ = '1.13.1'\ngit_version = 'abc'\n");
        Path dbl = Files.createDirectories(dir.resolve("b/torch"));
        Files.writeString(dbl.resolve("version.py"), "__version__ = \"2.10.0+cpu\"\n");
        Path none = Files.createDirectories(dir.resolve("c/torch"));

        assertThat(PyTorchInstalls.version(single)).contains("1.13.1");
        assertThat(PyTorchInstalls.version(dbl)).contains("2.10.0+cpu");
        assertThat(PyTorchInstalls.version(none)).isEmpty();
    }

    // ------------------------------------------------------------------ explicit directory

    @ParameterizedTest(name = "given by {0}")
    @CsvSource({"system property", "environment variable"})
    void anExplicitDirectoryWithoutLibtorchFailsNamingTheDirectory(String how, @TempDir Path empty) throws Exception {
        Map<String, String> props = new HashMap<>(), env = new HashMap<>();
        if (how.equals("system property")) props.put("fullshard.torch.lib", empty.toString());
        else env.put("FULLSHARD_TORCH_LIB", empty.toString());

        LoadProbe.Result r = LoadProbe.run(props, env);

        assertThat(r.exitCode()).as(r.output()).isEqualTo(2);
        assertThat(r.get("error")).as(r.output()).contains(empty.toAbsolutePath().toString()).contains("has no libtorch_cpu.so");
    }

    // ------------------------------------------------------------------ installed PyTorch

    @Test
    void anOldPyTorchInTheVirtualenvIsSkippedWithANoteAndTheBundledBuildIsUsed(@TempDir Path tmp) throws Exception {
        Path torch = fakeOldPyTorch(tmp);
        Map<String, String> env = new HashMap<>();
        env.put("VIRTUAL_ENV", tmp.resolve("venv").toString());
        // Only the JDK's own bin folder on PATH, and a home without ~/.local: the fake is the only candidate
        // outside the fixed system folders (checked below).
        env.put("PATH", Path.of(ProcessHandle.current().info().command().orElseThrow()).getParent().toString());
        Map<String, String> props = Map.of("user.home", tmp.resolve("home").toString(),
                "fullshard.cache.dir", TorchLibrary.cacheRoot().toString());

        LoadProbe.Result r = LoadProbe.run(props, env);

        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.notes()).as(r.output())
                .anySatisfy(n -> assertThat(n).contains(torch.toString()).contains("1.13.1").contains("older than 2.10"));
        assertThat(Path.of(r.get("dir"))).as("never the old install").isNotEqualTo(torch.resolve("lib"));
        assumeTrue(systemPyTorchInstalls().isEmpty(), "a PyTorch is installed in a system folder: " + systemPyTorchInstalls());
        assertThat(r.get("source")).as(r.output()).isEqualTo("BUNDLED");
        assertThat(r.notes()).contains("no usable PyTorch installation found; using the bundled CPU build");
    }

    /**
     * {@code venv/lib/python3.11/site-packages/torch} at version 1.13.1, with a (fake) lib/libtorch_cpu.so:
     * if the version check did not skip it, fullshard would try to load that file and fail.
     */
    static Path fakeOldPyTorch(Path root) throws IOException {
        Path torch = Files.createDirectories(root.resolve("venv/lib/python3.11/site-packages/torch"));
        Files.writeString(torch.resolve("version.py"), "__version__ = '1.13.1'\ndebug = False\n");
        Files.createDirectories(torch.resolve("lib"));
        Files.writeString(torch.resolve("lib/libtorch_cpu.so"), "not a shared library");
        return torch;
    }

    /** torch packages under /usr and /usr/local, which discovery always searches. */
    private static List<Path> systemPyTorchInstalls() throws IOException {
        List<Path> found = new java.util.ArrayList<>();
        for (Path prefix : List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib"))) {
            if (!Files.isDirectory(prefix)) continue;
            try (Stream<Path> pythons = Files.list(prefix)) {
                for (Path py : pythons.filter(p -> p.getFileName().toString().startsWith("python3")).toList()) {
                    for (String sub : List.of("site-packages", "dist-packages")) {
                        Path torch = py.resolve(sub).resolve("torch");
                        if (Files.isDirectory(torch)) found.add(torch);
                    }
                }
            }
        }
        return found;
    }

    // ------------------------------------------------------------------ threads

    @ParameterizedTest(name = "FULLSHARD_NUM_THREADS={0} OMP_NUM_THREADS={1} -> {2} intra-op threads")
    @CsvSource({
            "1, , 1",
            "3, , 3",
            "1, 2, 2"})
    void intraOpThreadsFollowTheEnvironment(String fullshardThreads, String ompThreads, int expected) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("FULLSHARD_NUM_THREADS", fullshardThreads);
        Optional.ofNullable(ompThreads).ifPresent(v -> env.put("OMP_NUM_THREADS", v));

        LoadProbe.Result r = LoadProbe.run(Map.of("fullshard.torch.lib", "bundled",
                "fullshard.cache.dir", TorchLibrary.cacheRoot().toString()), env);

        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.get("threads")).as(r.output()).isEqualTo(Integer.toString(expected));
        // The bundled build carries OpenBLAS: where bfloat16 is emulated (float32 is the training path), OpenMP's
        // idle threads are told not to spin against OpenBLAS's threads, and OpenBLAS's idle threads to sleep sooner.
        assertThat(r.get("threadEnvironment")).as(r.output()).isEqualTo("OMP_NUM_THREADS=" + expected + " OPENBLAS_NUM_THREADS=" + expected
                + (CpuFlags.nativeBf16() ? "" : " GOMP_SPINCOUNT=0") + " OPENBLAS_THREAD_TIMEOUT=16");
    }

    @ParameterizedTest(name = "{0} set by the user: GOMP_SPINCOUNT left alone")
    @CsvSource({"GOMP_SPINCOUNT, 1000", "OMP_WAIT_POLICY, active"})
    void aSpinSettingOfTheUsersIsKept(String name, String value) throws Exception {
        LoadProbe.Result r = LoadProbe.run(Map.of("fullshard.torch.lib", "bundled", "fullshard.cache.dir", TorchLibrary.cacheRoot().toString()),
                Map.of("FULLSHARD_NUM_THREADS", "1", name, value));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.get("threadEnvironment")).as(r.output()).isEqualTo("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OPENBLAS_THREAD_TIMEOUT=16");
    }

    @Test
    void anOpenBlasTimeoutOfTheUsersIsKept() throws Exception {
        LoadProbe.Result r = LoadProbe.run(Map.of("fullshard.torch.lib", "bundled", "fullshard.cache.dir", TorchLibrary.cacheRoot().toString()),
                Map.of("FULLSHARD_NUM_THREADS", "1", "OPENBLAS_THREAD_TIMEOUT", "20", "GOMP_SPINCOUNT", "5"));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.get("threadEnvironment")).as(r.output()).isEqualTo("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1");
    }
}
