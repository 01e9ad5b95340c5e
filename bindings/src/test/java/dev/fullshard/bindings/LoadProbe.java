package dev.fullshard.bindings;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A tiny program run in a fresh JVM by the discovery and extraction tests: loads libtorch the way
 * fullshard does and prints what it got as {@code key=value} lines on stdout. Exit code 0 when
 * libtorch loaded, 2 on a {@link TorchLoadException} (printed as {@code error=...}).
 */
public final class LoadProbe {
    private LoadProbe() {
    }

    public static void main(String[] args) {
        TorchLibrary.Loaded loaded;
        try {
            loaded = TorchLibrary.load();
        } catch (TorchLoadException e) {
            System.out.println("error=" + e.getMessage().replace('\n', ' '));
            System.exit(2);
            return;
        }
        long abi = TorchStable.aoti_torch_abi_version();
        System.out.println("abi=" + (abi >>> 56) + "." + ((abi >>> 48) & 0xFF) + "." + ((abi >>> 40) & 0xFF));
        System.out.println("source=" + loaded.source());
        System.out.println("dir=" + loaded.directory());
        System.out.println("version=" + loaded.version());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            int rc = TorchStable.torch_get_num_threads(n);
            System.out.println("threads=" + (rc == 0 ? n.get(JAVA_INT, 0) : -1));
        }
        System.out.println("threadEnvironment=" + loaded.threadEnvironment());
        for (String note : loaded.notes()) System.out.println("note=" + note);
        System.out.flush();
    }

    // ------------------------------------------------------------------ running it from a test

    /** Variables that steer discovery; removed from the child's environment unless a test sets them. */
    static final List<String> DISCOVERY_ENV = List.of("FULLSHARD_TORCH_LIB", "FULLSHARD_CACHE_DIR", "FULLSHARD_NUM_THREADS",
            "FULLSHARD_CAPTURE_STDERR", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH");

    /** A finished probe: exit code, all output, and the {@code key=value} lines (repeated keys joined by '\n'). */
    record Result(int exitCode, String output, Map<String, String> values) {
        String get(String key) {
            return values.get(key);
        }

        List<String> notes() {
            String n = values.get("note");
            return n == null ? List.of() : List.of(n.split("\n"));
        }
    }

    /** A probe JVM that is running, writing stdout and stderr to {@code output}. */
    record Running(Process process, Path output) {
    }

    /** Starts a probe JVM with the given system properties and environment (null values remove a variable). */
    static Running start(Map<String, String> properties, Map<String, String> env) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path")));
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add(LoadProbe.class.getName());
        Path output = Files.createTempFile("fullshard-probe-", ".out");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        Map<String, String> environment = pb.environment();
        DISCOVERY_ENV.forEach(environment::remove);
        env.forEach((k, v) -> {
            if (v == null) environment.remove(k);
            else environment.put(k, v);
        });
        return new Running(pb.start(), output);
    }

    /** Waits for a started probe (at most 5 minutes) and parses its output. */
    static Result finish(Running r) throws IOException, InterruptedException {
        Process p = r.process();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) p.destroyForcibly().waitFor();
        String out = Files.readString(r.output(), StandardCharsets.UTF_8);
        Files.deleteIfExists(r.output());
        if (!done) throw new AssertionError("probe did not finish in 5 minutes; its output:\n" + out);
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq <= 0 || !line.substring(0, eq).matches("[A-Za-z]+")) continue;
            values.merge(line.substring(0, eq), line.substring(eq + 1), (a, b) -> a + "\n" + b);
        }
        return new Result(p.exitValue(), out, values);
    }

    static Result run(Map<String, String> properties, Map<String, String> env) throws IOException, InterruptedException {
        return finish(start(properties, env));
    }
}
