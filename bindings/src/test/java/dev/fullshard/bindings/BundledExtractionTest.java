package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The bundled CPU build is extracted once into {@code <cache>/natives/<versions>}, safely when several
 * ranks start at the same moment, and an extraction that was cut short is redone. Each case runs real
 * JVMs ({@link LoadProbe}) against a fresh, empty cache folder.
 */
class BundledExtractionTest {
    private static final int PROCESSES = 4;
    /** The jar resources TorchLibrary extracts, by file name. */
    private static final Map<String, String> BUNDLED = Map.of(
            "libquadmath.so.0", "org/bytedeco/openblas/linux-x86_64/libquadmath.so.0",
            "libgfortran.so.5", "org/bytedeco/openblas/linux-x86_64/libgfortran.so.5",
            "libopenblas.so.0", "org/bytedeco/openblas/linux-x86_64/libopenblas.so.0",
            "libgomp.so.1", "org/bytedeco/pytorch/linux-x86_64/libgomp.so.1",
            "libc10.so", "org/bytedeco/pytorch/linux-x86_64/libc10.so",
            "libtorch_cpu.so", "org/bytedeco/pytorch/linux-x86_64/libtorch_cpu.so");

    @Test
    void fourJvmsStartingAtOnceShareOneCompleteExtraction(@TempDir Path cache) throws Exception {
        long start = System.nanoTime();
        List<LoadProbe.Running> running = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) running.add(LoadProbe.start(bundledInto(cache), Map.of("FULLSHARD_NUM_THREADS", "1")));
        List<LoadProbe.Result> results = new ArrayList<>();
        for (LoadProbe.Running r : running) results.add(LoadProbe.finish(r));
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("BundledExtractionTest: %d JVMs extracted and loaded the bundled libtorch in %.1f s (wall, all together)%n",
                PROCESSES, seconds);

        Path expected = cache.resolve("natives").resolve(bundledKey());
        for (LoadProbe.Result r : results) {
            assertThat(r.exitCode()).as(r.output()).isZero();
            assertThat(r.get("abi")).as(r.output()).startsWith("2.10.");
            assertThat(r.get("source")).as(r.output()).isEqualTo("BUNDLED");
            assertThat(Path.of(r.get("dir"))).as(r.output()).isEqualTo(expected);
        }
        assertCompleteExtraction(expected);
    }

    @Test
    void anIncompleteDirectoryWithoutTheMarkerIsReplaced(@TempDir Path cache) throws Exception {
        Path stale = cache.resolve("natives").resolve(bundledKey());
        Files.createDirectories(stale);
        Files.writeString(stale.resolve("libtorch_cpu.so"), "cut short by a killed process");
        Files.writeString(stale.resolve("leftover.txt"), "from an earlier attempt");

        LoadProbe.Result r = LoadProbe.run(bundledInto(cache), Map.of("FULLSHARD_NUM_THREADS", "1"));

        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.get("abi")).as(r.output()).startsWith("2.10.");
        assertThat(Path.of(r.get("dir"))).as(r.output()).isEqualTo(stale);
        assertThat(stale.resolve("leftover.txt")).as("files of the stale attempt").doesNotExist();
        assertCompleteExtraction(stale);
    }

    @Test
    void aCompleteDirectoryIsReusedAsIs(@TempDir Path cache) throws Exception {
        // A marker makes the folder trusted: TorchLibrary must not extract again (it would replace the
        // folder, and this file with it).
        LoadProbe.Result first = LoadProbe.run(bundledInto(cache), Map.of("FULLSHARD_NUM_THREADS", "1"));
        assertThat(first.exitCode()).as(first.output()).isZero();
        Path dir = Path.of(first.get("dir"));
        Files.writeString(dir.resolve("written-after-extraction.txt"), "still here?");

        LoadProbe.Result second = LoadProbe.run(bundledInto(cache), Map.of("FULLSHARD_NUM_THREADS", "1"));
        assertThat(second.exitCode()).as(second.output()).isZero();
        assertThat(Path.of(second.get("dir"))).isEqualTo(dir);
        assertThat(dir.resolve("written-after-extraction.txt")).exists();
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, String> bundledInto(Path cache) {
        return Map.of("fullshard.cache.dir", cache.toString(), "fullshard.torch.lib", "bundled");
    }

    /** The folder name TorchLibrary derives from the versions of the native jars (natives.properties). */
    private static String bundledKey() throws IOException {
        Properties p = new Properties();
        try (InputStream in = TorchLibrary.class.getResourceAsStream("natives.properties")) {
            assertThat(in).as("natives.properties on the class path").isNotNull();
            p.load(in);
        }
        return "pytorch-" + p.getProperty("pytorch") + "_openblas-" + p.getProperty("openblas") + "-linux-x86_64";
    }

    /** The six libraries at their full jar size, the marker, and nothing half-done next to the folder. */
    private static void assertCompleteExtraction(Path dir) throws IOException {
        assertThat(dir.resolve(".complete")).isRegularFile();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList())
                    .containsExactlyInAnyOrderElementsOf(Stream.concat(BUNDLED.keySet().stream(), Stream.of(".complete")).toList());
        }
        for (Map.Entry<String, String> e : BUNDLED.entrySet()) {
            URL resource = TorchLibrary.class.getClassLoader().getResource(e.getValue());
            assertThat(resource).as(e.getValue() + " on the class path").isNotNull();
            long jarSize = resource.openConnection().getContentLengthLong();
            assertThat(Files.size(dir.resolve(e.getKey()))).as(e.getKey() + " size vs the jar entry").isEqualTo(jarSize);
        }
        try (Stream<Path> siblings = Files.list(dir.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList())
                    .as("temporary extraction folders left in " + dir.getParent()).isEmpty();
        }
    }
}
