package dev.fullshard.dist;

import dev.fullshard.bindings.MpiLibrary;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Starts test ranks with MPICH's {@code mpiexec} (until the fullshard launcher lands). */
final class DistMpiProcesses {
    private DistMpiProcesses() {
    }

    /** MPICH's mpiexec, or the test is skipped saying how to get it. */
    static Path mpiexec() {
        Optional<Path> found = Optional.empty();
        for (String name : List.of("mpiexec.mpich", "mpiexec.hydra", "mpiexec")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    found = Optional.of(p);
                    break;
                }
            }
            if (found.isPresent()) break;
        }
        Assumptions.assumeTrue(found.isPresent() && MpiLibrary.isAvailable(),
                "MPICH is not installed (no mpiexec on PATH or no libmpich.so.12): `apt-get install mpich` "
                        + "(.ci/install-test-deps does it); multi-process tests skipped");
        return found.get();
    }

    record Run(int exitCode, String output) {
    }

    /** {@code mpiexec -n ranks java … DistTestMain args}, output to {@code log}; killed after {@code timeoutSeconds}. */
    static Run run(int ranks, Path log, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(mpiexec().toString(), "-n", String.valueOf(ranks),
                ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), DistTestMain.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.environment().put("UCX_ERROR_SIGNALS", "");
        pb.environment().remove("WORLD_SIZE");
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            return new Run(-1, "TIMED OUT after " + timeoutSeconds + " s\n" + Files.readString(log));
        }
        return new Run(p.exitValue(), Files.readString(log));
    }
}
