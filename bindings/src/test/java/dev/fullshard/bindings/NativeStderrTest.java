package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** libtorch's error text is attributed to each failure, everything else still reaches stderr, and the capture file stays small. */
class NativeStderrTest {
    @Test
    void attributesEachFailureForwardsOtherOutputAndRotatesTheCaptureFile(@TempDir Path tmp) throws Exception {
        int failures = 60;
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                "-Djava.io.tmpdir=" + tmp, "-Dfullshard.torch.lib=bundled",
                // Each failure writes a few KiB (message and backtrace), so this forces several rotations.
                "-Dfullshard.stderr.rotate.bytes=4096",
                StderrProbe.class.getName(), Integer.toString(failures)));
        Path stdout = tmp.resolve("stdout"), stderr = tmp.resolve("stderr");
        Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        assertThat(p.waitFor(3, TimeUnit.MINUTES)).isTrue();
        String out = Files.readString(stdout, StandardCharsets.UTF_8), err = Files.readString(stderr, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out + err).isZero();
        assertThat(out).contains("attributed=" + failures).contains("captureFiles=1");
        // Without rotation the file would hold all 60 reports (several KiB each); with it, at most the
        // last 10 failures' worth written since the previous rotation.
        long captureBytes = Long.parseLong(out.replaceAll("(?s).*captureBytes=(\\d+).*", "$1"));
        assertThat(captureBytes).isLessThan(failures * 1024L);
        assertThat(err).contains("native-line-9", "native-line-59", "java-line-59")
                .doesNotContain("Exception in aoti_torch");
    }
}
