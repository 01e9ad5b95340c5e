package dev.fullshard.launcher;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node that vanishes mid-run, on loopback with two node launchers: frozen with SIGSTOP (as a host that lost power
 * or its network: the connection stays open) or killed with SIGKILL (the connection closes). The survivor stops
 * its ranks and exits with a report naming the lost node. Detection times are printed, not asserted.
 */
@Timeout(120)
class LostNodeTest {
    private static final String RANK = "echo ready; while true; do sleep 0.1; done";
    private static final double NODE_TIMEOUT = 3;

    @TempDir Path dir;
    private final List<Launched> launched = new ArrayList<>();

    /** A launcher process whose output lines are kept with the time each arrived. */
    private record Launched(Process process, List<Line> lines) {
        record Line(long nanos, String text) { }

        /** Waits for a line, returning when it arrived; fails with the output so far if the process ends first. */
        Line await(Predicate<String> wanted) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                synchronized (lines) {
                    for (Line l : lines) if (wanted.test(l.text())) return l;
                }
                Thread.sleep(10);
            }
            throw new AssertionError("never seen; output:\n" + output());
        }

        String output() {
            synchronized (lines) { return String.join("\n", lines.stream().map(Line::text).toList()); }
        }

        /** The launcher and its ranks (and their children), for stopping all of one "host" at once. */
        List<ProcessHandle> everyProcess() {
            return Stream.concat(Stream.of(process.toHandle()), process.descendants()).toList();
        }
    }

    private Launched launch(int nodeRank, int port) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), LauncherCommand.class.getName(), "--nnodes", "2", "--node-rank",
                "" + nodeRank, "--master-port", "" + port, "--rdzv-id", "lost", "--join-timeout", "60",
                "--heartbeat-interval", "0.5", "--node-timeout", "" + NODE_TIMEOUT, "--failure-grace-period", "1",
                "--log-dir", dir.resolve("node" + nodeRank).toString(), "--no-java", "sh", "-c", RANK));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("SLURMD_NODENAME", "host-" + nodeRank);
        Launched l = new Launched(pb.start(), new ArrayList<>());
        launched.add(l);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(l.process().getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (l.lines()) { l.lines().add(new Launched.Line(System.nanoTime(), line)); }
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        reader.setDaemon(true);
        reader.start();
        return l;
    }

    /** A master and a node launcher, each with one rank that has started. */
    private Launched[] twoNodesRunning() throws Exception {
        int port = LauncherProcessTest.freePort();
        Launched master = launch(0, port), node = launch(1, port);
        master.await(s -> s.contains("[rank0]:ready"));
        node.await(s -> s.contains("[rank1]:ready"));
        return new Launched[] {master, node};
    }

    private static void signal(String signal, List<ProcessHandle> processes) throws Exception {
        List<String> kill = new ArrayList<>(List.of("kill", "-" + signal));
        processes.forEach(p -> kill.add(Long.toString(p.pid())));
        assertThat(new ProcessBuilder(kill).inheritIO().start().waitFor()).isZero();
    }

    @AfterEach
    void killEverything() {
        for (Launched l : launched) l.everyProcess().forEach(ProcessHandle::destroyForcibly);
    }

    /** Stops the master's report at {@code lost}; returns it after checking it names node 1 and when it was last heard. */
    private static String reportOfLostNode1(Launched master) throws Exception {
        assertThat(master.process().waitFor(60, TimeUnit.SECONDS)).as(master.output()).isTrue();
        assertThat(master.process().exitValue()).as(master.output()).isEqualTo(1);
        String out = master.output();
        assertThat(out).contains("FAILED after 1 attempt(s)", "host : host-1 (node rank 1)", "what : node 1 (host-1) lost: ",
                "last heard from at ");
        return out.substring(out.indexOf("[launcher] ===== run"));
    }

    @Test
    void aFrozenNodeIsLostAfterTheNodeTimeoutAndNamedInTheReport() throws Exception {
        Launched[] nodes = twoNodesRunning();
        long frozen = System.nanoTime();
        signal("STOP", nodes[1].everyProcess());
        Launched.Line lost = nodes[0].await(s -> s.contains("node 1 (host-1) lost: silent for longer than --node-timeout 3.0 s"));
        String report = reportOfLostNode1(nodes[0]);
        System.out.printf("frozen node (SIGSTOP), --heartbeat-interval 0.5 --node-timeout %.1f: lost after %.2f s; report:%n%s%n",
                NODE_TIMEOUT, (lost.nanos() - frozen) / 1e9, report);
        assertThat(nodes[0].output()).as("the master's own rank was stopped").contains("stopping all ranks");
    }

    @Test
    void aKilledNodeIsLostAtOnceAndNamedInTheReport() throws Exception {
        Launched[] nodes = twoNodesRunning();
        long killed = System.nanoTime();
        signal("KILL", nodes[1].everyProcess());
        Launched.Line lost = nodes[0].await(s -> s.contains("node 1 (host-1) lost: its launcher closed the connection"));
        String report = reportOfLostNode1(nodes[0]);
        System.out.printf("killed node (SIGKILL): lost after %.2f s; report:%n%s%n", (lost.nanos() - killed) / 1e9, report);
    }

    @Test
    void aNodeWhoseMasterFreezesStopsItsRanksAndExits() throws Exception {
        Launched[] nodes = twoNodesRunning();
        long frozen = System.nanoTime();
        signal("STOP", List.of(nodes[0].process().toHandle()));
        Launched.Line lost = nodes[1].await(s -> s.contains("error: lost the master: "));
        assertThat(nodes[1].process().waitFor(60, TimeUnit.SECONDS)).as(nodes[1].output()).isTrue();
        assertThat(nodes[1].process().exitValue()).as(nodes[1].output()).isEqualTo(1);
        assertThat(lost.text()).contains("was silent for longer than --node-timeout 3.0 s; last heard from at ",
                "; stopping local ranks");
        assertThat(nodes[1].process().descendants()).as("its rank is stopped").isEmpty();
        System.out.printf("frozen master (SIGSTOP): the node gave up after %.2f s:%n%s%n", (lost.nanos() - frozen) / 1e9, lost.text());
    }
}
