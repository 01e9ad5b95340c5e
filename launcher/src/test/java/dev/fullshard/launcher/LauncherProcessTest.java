package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The launcher with real rank processes (tiny shell commands) on loopback. */
@Timeout(120)
class LauncherProcessTest {
    @TempDir Path dir;

    record Result(int code, String out, String err) { }

    Result launch(Map<String, String> env, String... args) {
        List<String> all = new ArrayList<>(List.of("--log-dir", dir.toString(), "--grace-period", "5"));
        all.addAll(List.of(args));
        return launchExactly(env, all.toArray(String[]::new));
    }

    /** The launcher with just these arguments (no --log-dir or --grace-period added). */
    Result launchExactly(Map<String, String> env, String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(buf, true, StandardCharsets.UTF_8);
        StringWriter err = new StringWriter();
        int code = LauncherCommand.commandLine(new LauncherCommand(env, console)).setErr(new PrintWriter(err, true))
                .execute(args);
        return new Result(code, buf.toString(StandardCharsets.UTF_8), err.toString());
    }

    @Test
    void ranksGetTheTorchrunEnvironmentAndPrefixedLogs() throws Exception {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--rdzv-id", "ignored", "--no-java", "sh", "-c",
                "echo \"E rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE lws=$LOCAL_WORLD_SIZE group=$GROUP_RANK"
                        + " gws=$GROUP_WORLD_SIZE restart=$TORCHELASTIC_RESTART_COUNT/$FULLSHARD_RESTART_COUNT"
                        + " max=$TORCHELASTIC_MAX_RESTARTS pmi=$PMI_PORT id=$PMI_ID master=$MASTER_ADDR:$MASTER_PORT"
                        + " ucx=[${UCX_ERROR_SIGNALS-unset}] omp=$OMP_NUM_THREADS secret=${#FULLSHARD_PMI_SECRET}\"");
        assertThat(r.code()).as(r.out()).isZero();
        for (int rank = 0; rank < 2; rank++) {
            assertThat(r.out()).contains("[rank" + rank + "]:E rank=" + rank + " local=" + rank
                    + " world=2 lws=2 group=0 gws=1 restart=0/0 max=0 pmi=127.0.0.1:");
            assertThat(r.out()).contains("id=" + rank + " master=127.0.0.1:");
        }
        assertThat(r.out()).contains("ucx=[]").doesNotContain("secret=0 ").doesNotContain("omp= ");
        String runId = r.out().replaceAll("(?s).*\\[launcher\\] run (\\S+):.*", "$1");
        Path log = dir.resolve(runId).resolve("attempt_0").resolve("rank_1.log");
        assertThat(Files.readString(log)).startsWith("E rank=1 local=1");
    }

    @Test
    void networkInterfaceIsGivenToEveryEngineUnlessTheUserChoseOne() {
        Result r = launch(Map.of("NCCL_SOCKET_IFNAME", "ib0"), "--standalone", "--nproc", "1", "--network-interface", "lo",
                "--no-java", "sh", "-c", "echo \"I ucx=$UCX_NET_DEVICES tcp=$FI_TCP_IFACE sockets=$FI_SOCKETS_IFACE"
                        + " ch3=$MPIR_CVAR_NEMESIS_TCP_NETWORK_IFACE nccl=$NCCL_SOCKET_IFNAME\"");
        assertThat(r.code()).as(r.out()).isZero();
        // the launcher's own environment is the test's map, the rank's this JVM's: a user's NCCL_SOCKET_IFNAME is kept, not overwritten
        assertThat(r.out()).contains("[rank0]:I ucx=lo tcp=lo sockets=lo ch3=lo nccl=").doesNotContain("nccl=lo");
        Result none = launch(Map.of(), "--standalone", "--nproc", "1", "--no-java", "sh", "-c", "echo \"I ucx=${UCX_NET_DEVICES-unset}\"");
        assertThat(none.out()).contains("[rank0]:I ucx=unset");
        Result missing = launch(Map.of(), "--standalone", "--network-interface", "nosuch0", "--no-java", "true");
        assertThat(missing.code()).isEqualTo(LauncherCommand.USAGE);
        assertThat(missing.err()).contains("--network-interface nosuch0: this node has no such interface (it has ", "lo");
    }

    @Test
    void redirectsKeepRankOutputInTheLogsUnlessTeed() {
        Result quiet = launch(Map.of(), "--standalone", "--nproc", "2", "--redirects", "3", "--no-java", "sh", "-c", "echo hello $RANK");
        assertThat(quiet.code()).isZero();
        assertThat(quiet.out()).doesNotContain("[rank0]:", "[rank1]:").contains("succeeded");
        Result teed = launch(Map.of(), "--standalone", "--nproc", "2", "--redirects", "3", "--tee", "3", "--no-java", "sh", "-c",
                "echo hello $RANK");
        assertThat(teed.out()).contains("[rank0]:hello 0", "[rank1]:hello 1");
    }

    @Test
    void nprocGpuCountsVisibleDevicesAndFailsClearlyWithoutAny() {
        assertThat(LauncherCommand.gpuCount(Map.of("CUDA_VISIBLE_DEVICES", "0,1,3"))).isEqualTo(3);
        assertThat(LauncherCommand.gpuCount(Map.of("CUDA_VISIBLE_DEVICES", ""))).isZero();
        Result r = launch(Map.of("CUDA_VISIBLE_DEVICES", ""), "--standalone", "--nproc", "gpu", "--no-java", "true");
        assertThat(r.code()).as("a usage error, with the reason on stderr").isEqualTo(LauncherCommand.USAGE);
        assertThat(r.out()).doesNotContain("starting");
    }

    @Test
    void anUnknownOptionBeforeTheCommandIsRejectedInOneLine() {
        Result bogus = launch(Map.of(), "--standalone", "--nproc", "1", "--bogus-opt", "--no-java", "sh", "-c", "echo started");
        assertThat(bogus.code()).as(bogus.out()).isEqualTo(LauncherCommand.USAGE);
        assertThat(bogus.err()).isEqualTo("launcher: unknown option '--bogus-opt' (launcher --help lists them)\n");
        assertThat(bogus.out()).doesNotContain("starting");

        Result typo = launch(Map.of(), "--standalone", "--max-restart", "1", "--no-java", "true");
        assertThat(typo.code()).isEqualTo(LauncherCommand.USAGE);
        assertThat(typo.err()).isEqualTo("launcher: unknown option '--max-restart' (did you mean --max-restarts?)\n");
    }

    @Test
    void optionsAfterTheCommandBelongToTheRank() {
        Result r = launch(Map.of(), "--standalone", "--nproc", "1", "--no-java", "sh", "-c", "echo \"args: $*\"", "sh",
                "--bogus-opt", "--nproc", "7", "training.max_steps=3");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("[rank0]:args: --bogus-opt --nproc 7 training.max_steps=3");
    }

    @Test
    void nonsensicalNumbersAreRejectedInOneLineNamingTheOption() {
        String[][] cases = {
                {"--max-restarts", "-1", "--max-restarts must be 0 or more, not -1"},
                {"--grace-period", "0", "--grace-period must be a number of seconds above 0, not 0.0"},
                {"--grace-period", "-3", "--grace-period must be a number of seconds above 0, not -3.0"},
                {"--failure-grace-period", "0", "--failure-grace-period must be a number of seconds above 0, not 0.0"},
                {"--monitor-interval", "0", "--monitor-interval must be a number of seconds above 0, not 0.0"},
                {"--join-timeout", "-1", "--join-timeout must be a number of seconds above 0, not -1.0"},
                {"--hang-timeout", "-1", "--hang-timeout must be 0 (off) or more seconds, not -1.0"},
                {"--master-port", "65536", "--master-port must be a port in 0..65535, not 65536"},
                {"--master-port", "-1", "--master-port must be a port in 0..65535, not -1"},
        };
        for (String[] c : cases) {
            Result r = launchExactly(Map.of(), "--standalone", "--log-dir", dir.toString(), c[0], c[1], "--no-java", "sh", "-c", "echo started");
            assertThat(r.code()).as(c[0] + " " + c[1] + ": " + r.out()).isEqualTo(LauncherCommand.USAGE);
            assertThat(r.err()).isEqualTo("launcher: " + c[2] + "\n");
            assertThat(r.out()).doesNotContain("starting");
        }
        Result env = launchExactly(Map.of("FULLSHARD_MAX_RESTARTS", "-2"), "--standalone", "--no-java", "true");
        assertThat(env.code()).isEqualTo(LauncherCommand.USAGE);
        assertThat(env.err()).contains("--max-restarts must be 0 or more, not -2");
    }

    @Test
    void localRanksFilterHidesOtherRanksFromTheConsoleOnly() {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--local-ranks-filter", "1", "--no-java", "sh", "-c",
                "echo hello $RANK");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("[rank1]:hello 1").doesNotContain("[rank0]:");
    }

    @Test
    void aFailedRankRestartsTheGangAndTheRetrySucceeds() throws Exception {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--max-restarts", "1", "--rdzv-id", "x", "--no-java",
                "sh", "-c", "if [ \"$FULLSHARD_RESTART_COUNT\" = 0 ] && [ \"$RANK\" = 1 ]; then echo boom; exit 3; fi;"
                        + " if [ \"$FULLSHARD_RESTART_COUNT\" = 0 ]; then sleep 60; fi; echo fine $FULLSHARD_RESTART_COUNT");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("[rank1]:boom", "restarting the gang", "[rank0]:fine 1", "[rank1]:fine 1")
                .doesNotContain("[rank0]:fine 0");
    }

    @Test
    void finalFailureReportsTheRootCauseAndPropagatesTheExitCode() throws Exception {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--no-java", "sh", "-c",
                "if [ \"$RANK\" = 1 ]; then for i in $(seq 1 30); do echo line$i; done; echo '{\"message\":\"bad\"}' > "
                        + "\"$TORCHELASTIC_ERROR_FILE\"; exit 3; fi; sleep 60");
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("root cause", "rank : 1 (local rank 1)", "exit : exit code 3", "line30",
                "rank_1.log", "\"message\":\"bad\"");
        String report = r.out().substring(r.out().indexOf("root cause"));
        assertThat(report).contains("    line11").doesNotContain("    line10\n");
    }

    @Test
    void aRankThatCannotStartFailsTheRunAtOnceDespiteRestarts() throws Exception {
        Path notExecutable = Files.writeString(dir.resolve("not-executable.sh"), "echo hi\n");
        Map<String, String> cases = Map.of(
                "/nonexistent/prog", "No such file or directory",
                "no-such-program-on-the-path", "No such file or directory",
                notExecutable.toString(), "Permission denied");
        cases.forEach((program, why) -> {
            Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--max-restarts", "2", "--no-java", program, "arg");
            assertThat(r.code()).as(r.out()).isEqualTo(Failure.NOT_STARTED);
            assertThat(r.out()).contains("not restarting: rank 0 could not be started", "FAILED after 1 attempt(s)",
                            "what : cannot start rank 0: Cannot run program \"" + program + "\"", why, "exit : never started")
                    .doesNotContain("succeeded", "restarting the gang", "attempt 1");
        });
    }

    @Test
    void aRankThatCannotStartOnAnotherNodeStopsTheMasterAndIsReported() throws Exception {
        int port = freePort();
        Result[] node = new Result[1];
        Thread t = new Thread(() -> node[0] = launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2",
                "--node-rank", "1", "--master-port", "" + port, "--rdzv-id", "ns", "--join-timeout", "60",
                "--no-java", "/nonexistent/prog"));
        t.start();
        Result master = launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2", "--node-rank", "0",
                "--master-port", "" + port, "--rdzv-id", "ns", "--join-timeout", "60", "--max-restarts", "1",
                "--no-java", "sleep", "60");
        t.join();
        assertThat(master.code()).as(master.out()).isEqualTo(Failure.NOT_STARTED);
        assertThat(node[0].code()).as(node[0].out()).isEqualTo(Failure.NOT_STARTED);
        assertThat(master.out()).contains("not restarting", "(node rank 1)", "rank : 1 (local rank 0)",
                "cannot start rank 1: Cannot run program \"/nonexistent/prog\"", "exit : never started");
        assertThat(master.out()).as("the master's rank is stopped, not waited for").contains("stopping all ranks");
    }

    @Test
    void aRankKilledBySigkillIsReportedAsSigkill() {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--no-java", "sh", "-c",
                "if [ \"$RANK\" = 0 ]; then echo dying; kill -9 $$; fi; sleep 60");
        assertThat(r.code()).as(r.out()).isEqualTo(137);
        assertThat(r.out()).contains("rank : 0", "killed by signal SIGKILL", "dying");
    }

    @Test
    void sigtermToTheLauncherReachesTheRanks() throws Exception {
        Path marker = dir.resolve("got-term");
        Process p = startUntilReady("--grace-period", "10", "--no-java", "sh", "-c",
                "trap 'echo term > " + marker + "; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
        p.destroy();  // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(143);
        assertThat(Files.readString(marker)).isEqualTo("term\n");
    }

    /** A one-rank standalone launcher with {@code args}, returned once its rank has printed "ready". */
    private Process startUntilReady(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), LauncherCommand.class.getName(), "--standalone", "--nproc", "1",
                "--log-dir", dir.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = reader.readLine()) != null) {
            seen.append(line).append('\n');
            if (line.contains("[rank0]:ready")) return p;
        }
        throw new AssertionError("the rank never said ready:\n" + seen);
    }

    /** A rank that ignores SIGTERM, as a trainer rank blocked in a collective whose peer died does. */
    static final String IGNORES_SIGTERM = "trap 'echo ignoring TERM' TERM; echo waiting; while true; do sleep 0.1; done";

    @Test
    void aFailedRankStopsTheOthersAfterTheFailureGracePeriodNotTheFullOne() {
        Result r = launchExactly(Map.of(), "--standalone", "--nproc", "2", "--log-dir", dir.toString(), "--grace-period", "30",
                "--no-java", "sh", "-c", "if [ \"$RANK\" = 0 ]; then sleep 1; exit 3; fi; " + IGNORES_SIGTERM);
        assertThat(r.code()).as(r.out()).isEqualTo(3);
        assertThat(r.out()).contains("[rank1]:ignoring TERM", "still running 5.0 s after SIGTERM: SIGKILL", "rank : 0");
    }

    @Test
    void aFailureOnTheMasterStopsAnotherNodesRanksAfterTheFailureGracePeriod() throws Exception {
        int port = freePort();
        String script = "if [ \"$RANK\" = 0 ]; then sleep 2; exit 3; fi; " + IGNORES_SIGTERM;
        Result[] node = new Result[1];
        Thread t = new Thread(() -> node[0] = launchExactly(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2",
                "--node-rank", "1", "--master-port", "" + port, "--rdzv-id", "fg", "--join-timeout", "60",
                "--log-dir", dir.resolve("node1").toString(), "--grace-period", "30", "--no-java", "sh", "-c", script));
        t.start();
        Result master = launchExactly(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2", "--node-rank", "0",
                "--master-port", "" + port, "--rdzv-id", "fg", "--join-timeout", "60", "--log-dir", dir.toString(),
                "--grace-period", "30", "--no-java", "sh", "-c", script);
        t.join();
        assertThat(master.code()).as(master.out()).isEqualTo(3);
        assertThat(node[0].out()).contains("[rank1]:ignoring TERM", "still running 5.0 s after SIGTERM: SIGKILL");
    }

    @Test
    void aSignalToTheLauncherKeepsTheFullGracePeriod() throws Exception {
        Path marker = dir.resolve("saved");
        Process p = startUntilReady("--grace-period", "30", "--failure-grace-period", "1", "--no-java", "sh", "-c",
                "trap 'sleep 3; echo saved > " + marker + "; exit 0' TERM; echo ready; while true; do sleep 0.1; done");
        p.destroy();  // SIGTERM: the rank needs 3 s to "save", more than the failure grace period
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(143);
        assertThat(marker).content().isEqualTo("saved\n");
    }

    @Test
    void wrongSecretIsRefusedAndTheJoinTimeoutNamesTheMissingNode() throws Exception {
        int port = freePort();
        Result[] master = new Result[1];
        Thread t = new Thread(() -> master[0] = launch(Map.of("FULLSHARD_RDZV_SECRET", "right"), "--nnodes", "3",
                "--node-rank", "0", "--master-port", "" + port, "--join-timeout", "4", "--rdzv-id", "j", "--no-java", "true"));
        t.start();
        Result node = launch(Map.of("FULLSHARD_RDZV_SECRET", "wrong"), "--nnodes", "3", "--node-rank", "1",
                "--master-port", "" + port, "--join-timeout", "30", "--rdzv-id", "j", "--no-java", "true");
        t.join();
        assertThat(node.code()).isEqualTo(1);
        assertThat(node.out()).contains("refused", "wrong_secret");
        assertThat(master[0].code()).isEqualTo(1);
        assertThat(master[0].out()).contains("node rank(s) [1, 2] never joined");
    }

    @Test
    void aPortInUseGivesAClearMessage() throws Exception {
        try (var busy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Result r = launch(Map.of(), "--master-port", "" + busy.getLocalPort(), "--no-java", "true");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.out()).contains("cannot listen on 127.0.0.1:" + busy.getLocalPort(), "--master-port");
        }
    }

    @Test
    void withoutNoJavaEachRankIsATrainerJvm() throws Exception {
        Path yaml = dir.resolve("missing.yaml");
        Result r = launch(Map.of("FULLSHARD_JAVA_OPTS", "-Xmx256m"), "--standalone", "--nproc", "1", yaml.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(2);  // the trainer's "bad config" exit code, propagated
        assertThat(r.out()).contains("[rank0]:").contains("missing.yaml").contains("root cause");
    }

    @Test
    void aRankWhoseProgressStopsIsRestartedByTheHangWatchdog() {
        Result r = launch(Map.of(), "--standalone", "--nproc", "2", "--max-restarts", "1", "--hang-timeout", "2",
                "--no-java", "bash", "-c", "exec 3<>/dev/tcp/${PMI_PORT%:*}/${PMI_PORT#*:};"
                        + " echo \"cmd=fs_progress rank=$RANK step=1 secret=$FULLSHARD_PMI_SECRET\" >&3; read -r ack <&3;"
                        + " echo \"$ack\"; if [ \"$FULLSHARD_RESTART_COUNT\" = 0 ]; then sleep 60; fi; echo done");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("[rank0]:cmd=fs_progress_ack", "made no progress", "restarting the gang",
                "[rank1]:done");
    }

    @Test
    void progressWithAWrongSecretIsRejected() {
        Result r = launch(Map.of(), "--standalone", "--nproc", "1", "--no-java", "bash", "-c",
                "exec 3<>/dev/tcp/${PMI_PORT%:*}/${PMI_PORT#*:}; echo 'cmd=fs_progress rank=0 step=1 secret=nope' >&3;"
                        + " read -r ack <&3; echo \"$ack\"");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("[rank0]:cmd=error msg=wrong_secret");
    }

    @Test
    void aFailureOnAnotherNodeRestartsBothNodesThenTheLastOneIsReported() throws Exception {
        int port = freePort();
        String script = "if [ \"$RANK\" = 1 ] && [ \"$FULLSHARD_RESTART_COUNT\" -lt 2 ]; then echo remote-boom;"
                + " exit 4; fi; if [ \"$FULLSHARD_RESTART_COUNT\" -lt 2 ]; then sleep 60; fi; echo ok $RANK";
        Result[] node = new Result[1];
        Thread t = new Thread(() -> node[0] = launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2",
                "--node-rank", "1", "--master-port", "" + port, "--rdzv-id", "mn", "--join-timeout", "60",
                "--no-java", "sh", "-c", script));
        t.start();
        Result master = launch(Map.of("FULLSHARD_RDZV_SECRET", "s"), "--nnodes", "2", "--node-rank", "0",
                "--master-port", "" + port, "--rdzv-id", "mn", "--join-timeout", "60", "--max-restarts", "1",
                "--no-java", "sh", "-c", script);
        t.join();
        assertThat(master.code()).as(master.out()).isEqualTo(4);
        assertThat(node[0].code()).as(node[0].out()).isEqualTo(4);
        assertThat(master.out()).contains("restarting the gang", "FAILED after 2 attempt(s)", "rank : 1 (local rank 0)",
                "(node rank 1)", "exit code 4", "remote-boom", "attempt_1/rank_1.log");
        assertThat(node[0].out()).contains("[rank1]:remote-boom");
    }

    static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) { return s.getLocalPort(); }
    }
}
