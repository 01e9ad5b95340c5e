package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two hosts on this machine ({@code scripts/cluster}: network namespaces with their own address, hostname
 * and eth0, no names for each other), one launcher each: training across them gives the single-host run under
 * full_shard and hybrid_shard alike (hybrid sending far fewer bytes between the hosts), and the mistakes that break
 * real clusters (an unresolvable master name, a wrong secret, a taken port) end with
 * a clear message in bounded time instead of a hang. Skipped, with the reason, where namespaces cannot be made.
 */
@Timeout(600)
class ClusterTrainingTest {
    private static final int STEPS = 10;
    private static final String MASTER = "10.77.0.1";
    /** This run's own set of hosts: another test run (or a person) may be using scripts/cluster at the same time. */
    private static final String HOSTS = "fsjunit" + ProcessHandle.current().pid();
    private static Path script;

    @TempDir
    Path tmp;

    /**
     * The namespace hosts share this machine's kernel and /dev/shm, so UCX (which tells hosts apart by the kernel's
     * boot id) would move the ranks' data between them through shared memory, and nothing but the rendezvous would
     * cross eth0. UCX over TCP only makes the hosts talk as on a cluster without RDMA (traffic within a host stays off eth0 either way).
     */
    private static final Map<String, String> CROSS_HOST_TCP = Map.of("UCX_TLS", "tcp,self");

    record Run(int code, String output, double seconds) { }

    @BeforeAll
    static void makeHosts() throws Exception {
        script = TinyFixtures.inCheckout("scripts/cluster");
        Run check = cluster(30, "check");
        assumeTrue(check.code() == 0, () -> "no namespace hosts here: " + check.output().strip());
        Run up = cluster(30, "up", "2");
        assertThat(up.code()).as(up.output()).isZero();
    }

    @AfterAll
    static void removeHosts() throws Exception {
        if (script != null) cluster(30, "down");
    }

    /** A process for the launcher with {@code args} on {@code host}, with {@code env} added. */
    private static Process startLauncher(String host, Map<String, String> env, Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(script.toString(), "exec", host));
        command.addAll(TinyFixtures.launcherCommand(args));
        ProcessBuilder pb = TinyFixtures.launcherProcess(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FULLSHARD_NUM_THREADS", "1");
        pb.environment().put("FULLSHARD_CLUSTER", HOSTS);
        pb.environment().putAll(env);
        return pb.start();
    }

    private static Run finish(Process p, Path log, long startNanos, int limitSeconds) throws Exception {
        boolean done = p.waitFor(limitSeconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly().waitFor();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("finished within %d s: %s", limitSeconds, output).isTrue();
        return new Run(p.exitValue(), output, (System.nanoTime() - startNanos) / 1e9);
    }

    /** scripts/cluster with {@code args}, on this run's hosts. */
    private static Run cluster(int limitSeconds, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(script.toString()));
        command.addAll(List.of(args));
        Path log = Files.createTempFile("cluster", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("FULLSHARD_CLUSTER", HOSTS);
            return finish(pb.start(), log, System.nanoTime(), limitSeconds);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The launcher of node rank {@code node} of a two-node job, on host node{@code node}. */
    private Process node(int node, Map<String, String> env, String masterAddr, int port, String... rest) throws IOException {
        List<String> args = new ArrayList<>(List.of("--nnodes", "2", "--node-rank", Integer.toString(node), "--master-addr", masterAddr,
                "--master-port", Integer.toString(port), "--rdzv-id", "cluster-test", "--log-dir", tmp.resolve("logs-" + node).toString()));
        args.addAll(List.of(rest));
        return startLauncher("node" + node, env, tmp.resolve("node" + node + "-" + port + ".log"), args.toArray(String[]::new));
    }

    private Run finishNode(Process p, int node, int port, long start, int limitSeconds) throws Exception {
        return finish(p, tmp.resolve("node" + node + "-" + port + ".log"), start, limitSeconds);
    }

    @Test
    void twoHostsOfTwoRanksTrainLikeOneHostOfFourUnderFullAndHybridSharding() throws Exception {
        Path model = TinyFixtures.tinyModel(tmp.resolve("tiny-model"));
        Path single = TinyFixtures.trainConfig(tmp, model, "single", "full_shard", STEPS);
        Path singleLog = tmp.resolve("single.log");
        ProcessBuilder pb = TinyFixtures.launcherProcess(TinyFixtures.launcherCommand("--standalone", "--nproc", "4",
                "--log-dir", tmp.resolve("logs").toString(), single.toString())).redirectErrorStream(true).redirectOutput(singleLog.toFile());
        pb.environment().put("FULLSHARD_NUM_THREADS", "1");
        Process reference = pb.start();
        Run one = finish(reference, singleLog, System.nanoTime(), 300);
        assertThat(one.code()).as(one.output()).isZero();
        List<JsonNode> a = TinyFixtures.metrics(tmp.resolve("single-out"), "train");

        long[] bytes = new long[2];
        String[] modes = {"full_shard", "hybrid_shard"};
        for (int k = 0; k < modes.length; k++) {
            Path across = TinyFixtures.trainConfig(tmp, model, modes[k], modes[k], STEPS);
            int port = 29510 + k;
            long received = receivedByNode1();
            long start = System.nanoTime();
            Process master = node(0, CROSS_HOST_TCP, MASTER, port, "--nproc", "2", "--network-interface", "eth0", "--join-timeout", "60", across.toString());
            Process other = node(1, CROSS_HOST_TCP, MASTER, port, "--nproc", "2", "--network-interface", "eth0", "--join-timeout", "60", across.toString());
            Run m = finishNode(master, 0, port, start, 400), n = finishNode(other, 1, port, start, 60);
            bytes[k] = receivedByNode1() - received;
            assertThat(m.code()).as(m.output()).isZero();
            assertThat(n.code()).as(n.output()).isZero();
            assertThat(n.output()).contains("[launcher node 1] joined the master at " + MASTER + ":" + port);
            if (modes[k].equals("hybrid_shard")) assertThat(m.output()).contains("4 ranks, hybrid_shard (groups of 2)");

            List<JsonNode> b = TinyFixtures.metrics(tmp.resolve(modes[k] + "-out"), "train");
            assertThat(b).as("one metrics line per step").hasSize(STEPS).hasSameSizeAs(a);
            double lossWorst = 0, normWorst = 0;
            for (int i = 0; i < a.size(); i++) {
                double la = a.get(i).get("loss").asDouble(), lb = b.get(i).get("loss").asDouble();
                double ga = a.get(i).get("grad_norm").asDouble(), gb = b.get(i).get("grad_norm").asDouble();
                assertThat(lb).as("%s: loss at step %d", modes[k], i + 1).isCloseTo(la, within(1e-4 * Math.abs(la)));
                assertThat(gb).as("%s: grad norm at step %d", modes[k], i + 1).isCloseTo(ga, within(1e-4 * Math.abs(ga)));
                lossWorst = Math.max(lossWorst, Math.abs(lb - la) / Math.abs(la));
                normWorst = Math.max(normWorst, Math.abs(gb - ga) / Math.abs(ga));
            }
            System.out.printf("2 hosts x 2 ranks, %s: %.1f s (world 4 on one host: %.1f s); losses within %.1e and gradient norms within %.1e "
                    + "relative of one host's full_shard; node1 received %.1f MB per step on eth0%n", modes[k], m.seconds(), one.seconds(),
                    lossWorst, normWorst, bytes[k] / 1e6 / STEPS);
        }
        // hybrid_shard all-gathers inside each host: only the all-reduce of the gradient shards crosses between them.
        assertThat(bytes[1]).as("bytes between the hosts, hybrid_shard vs full_shard").isLessThan(bytes[0] * 3 / 4);
    }

    private static long receivedByNode1() throws Exception {
        Run traffic = cluster(30, "traffic", "node1");
        assertThat(traffic.code()).as(traffic.output()).isZero();
        return Long.parseLong(traffic.output().strip().split("\\s+")[0]);
    }

    @Test
    void aMasterNameTheNodeCannotResolveFailsAtOnce() throws Exception {
        long start = System.nanoTime();
        Process p = node(1, Map.of(), "node0", 29501, "--nproc", "1", "--join-timeout", "60", "--no-java", "true");
        Run n = finishNode(p, 1, 29501, start, 30);
        System.out.printf("unresolvable master: exit %d after %.1f s: %s%n", n.code(), n.seconds(), n.output().strip());
        assertThat(n.code()).isEqualTo(1);
        assertThat(n.output()).contains("cannot resolve the master's name 'node0' on this node (node1)");
        assertThat(n.seconds()).as("well before the join timeout").isLessThan(30);
    }

    @Test
    void aNodeWithTheWrongSecretIsRefused() throws Exception {
        long start = System.nanoTime();
        Process master = node(0, Map.of("FULLSHARD_RDZV_SECRET", "right"), MASTER, 29502, "--join-timeout", "8", "--no-java", "true");
        Process other = node(1, Map.of("FULLSHARD_RDZV_SECRET", "wrong"), MASTER, 29502, "--join-timeout", "30", "--no-java", "true");
        Run n = finishNode(other, 1, 29502, start, 40), m = finishNode(master, 0, 29502, start, 40);
        System.out.printf("wrong secret: node exit %d after %.1f s: %s%nmaster exit %d after %.1f s: %s%n",
                n.code(), n.seconds(), n.output().strip(), m.code(), m.seconds(), m.output().strip());
        assertThat(n.code()).isEqualTo(1);
        assertThat(n.output()).contains("the master refused this node: wrong_secret (--rdzv-id / FULLSHARD_RDZV_SECRET differ)");
        assertThat(m.code()).isEqualTo(1);
        assertThat(m.output()).contains("node rank(s) [1] never joined");
    }

    @Test
    void aPortTakenOnTheMasterGivesAClearMessage() throws Exception {
        // another job's master holds the port: waiting for a node that never comes
        Process first = node(0, Map.of(), MASTER, 29503, "--join-timeout", "60", "--no-java", "true");
        try {
            Path firstLog = tmp.resolve("node0-29503.log");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!Files.readString(firstLog).contains("PMI on " + MASTER + ":29503") && System.nanoTime() < deadline) Thread.sleep(100);
            assertThat(Files.readString(firstLog)).as("the first master listens").contains("PMI on " + MASTER + ":29503");
            long start = System.nanoTime();
            Path log = tmp.resolve("second-master.log");
            Process second = startLauncher("node0", Map.of(), log, "--nnodes", "2", "--node-rank", "0", "--master-addr", MASTER,
                    "--master-port", "29503", "--rdzv-id", "other-job", "--log-dir", tmp.resolve("logs-second").toString(), "--no-java", "true");
            Run m = finish(second, log, start, 30);
            System.out.printf("port taken: exit %d after %.1f s: %s%n", m.code(), m.seconds(), m.output().strip());
            assertThat(m.code()).isEqualTo(1);
            assertThat(m.output()).contains("cannot listen on " + MASTER + ":29503", "--master-port");
        } finally {
            first.destroyForcibly().waitFor();
        }
    }
}
