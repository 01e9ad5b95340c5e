package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** torchrun's option spellings that existing sbatch scripts use, resolved without starting anything. */
class TorchrunSpellingsTest {
    private static LaunchSpec resolve(Map<String, String> env, String... args) throws Exception {
        LauncherCommand c = new LauncherCommand(env, new PrintStream(PrintStream.nullOutputStream()));
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--no-java", "true"));
        LauncherCommand.commandLine(c).parseArgs(all.toArray(String[]::new));
        return c.resolve();
    }

    private static LaunchSpec resolve(String... args) throws Exception {
        return resolve(Map.of("FULLSHARD_RDZV_SECRET", "s"), args);
    }

    @Test
    void rdzvEndpointSetsTheMastersAddressAndPort() throws Exception {
        LaunchSpec s = resolve("--nnodes", "2", "--node-rank", "1", "--rdzv-id", "j", "--rdzv-endpoint", "node0:29411");
        assertThat(s.masterAddr()).isEqualTo("node0");
        assertThat(s.masterPort()).isEqualTo(29411);
        LaunchSpec underscore = resolve("--rdzv_endpoint", "node0:7", "--rdzv_backend", "c10d");
        assertThat(underscore.masterAddr() + ":" + underscore.masterPort()).isEqualTo("node0:7");
        LaunchSpec v6 = resolve("--rdzv-endpoint", "[::1]:29501", "--rdzv-backend", "static");
        assertThat(v6.masterAddr() + " " + v6.masterPort()).isEqualTo("::1 29501");
    }

    @Test
    void anEndpointWithoutAPortUsesTheMasterPort() throws Exception {
        assertThat(resolve("--rdzv-endpoint", "node0").masterPort()).isEqualTo(LauncherCommand.DEFAULT_PORT).isEqualTo(29500);
        assertThat(resolve("--rdzv-endpoint", "node0", "--master-port", "1234").masterPort()).isEqualTo(1234);
        assertThat(resolve("--rdzv-endpoint", "[fe80::1]").masterAddr()).isEqualTo("fe80::1");
        assertThat(resolve("--rdzv-endpoint", "fe80::1").masterAddr()).as("a bare IPv6 address has no port").isEqualTo("fe80::1");
        assertThat(resolve("--rdzv-endpoint", "node0", "--master-addr", "node0").masterAddr()).as("agreeing").isEqualTo("node0");
    }

    @Test
    void theCommandLineWinsOverAFullshardVariable() throws Exception {
        LaunchSpec s = resolve(Map.of("FULLSHARD_MASTER_PORT", "7000", "FULLSHARD_MASTER_ADDR", "old"), "--rdzv-endpoint", "node0:7001");
        assertThat(s.masterAddr() + ":" + s.masterPort()).isEqualTo("node0:7001");
        LaunchSpec t = resolve(Map.of("FULLSHARD_RDZV_ENDPOINT", "node0:7001"), "--master-port", "7002");
        assertThat(t.masterAddr() + ":" + t.masterPort()).isEqualTo("node0:7002");
    }

    @Test
    void disagreeingOrUnsupportedValuesAreUsageErrorsInOneLine() {
        String[][] cases = {
                {"--rdzv-endpoint", "a:1", "--master-addr", "b", "--rdzv-endpoint says a but --master-addr says b: give one of them"},
                {"--rdzv-endpoint", "a:1", "--master-port", "2", "--rdzv-endpoint says 1 but --master-port says 2: give one of them"},
                {"--rdzv-endpoint", "a:http", "--rdzv-backend", "c10d",
                        "--rdzv-endpoint must be host, host:port or [ipv6]:port, not 'a:http' (the port is not a number)"},
                {"--rdzv-endpoint", "[::1", "--rdzv-backend", "c10d",
                        "--rdzv-endpoint must be host, host:port or [ipv6]:port, not '[::1' (no ']' after the IPv6 address)"},
                {"--rdzv-endpoint", "a:70000", "--rdzv-backend", "c10d",
                        "--rdzv-endpoint must be host, host:port or [ipv6]:port, not 'a:70000' (the port is outside 0..65535)"},
                {"--rdzv-backend", "etcd", "--master-addr", "a",
                        "--rdzv-backend must be c10d or static (the master launcher is the rendezvous), not etcd"},
                {"--heartbeat-interval", "5", "--node-timeout", "5",
                        "--node-timeout must be more seconds than --heartbeat-interval 5.0, not 5.0"},
                {"--heartbeat-interval", "0", "--node-timeout", "5",
                        "--heartbeat-interval must be a number of seconds above 0, not 0.0"},
        };
        for (String[] c : cases) {
            StringWriter err = new StringWriter();
            int code = LauncherCommand.commandLine(new LauncherCommand(Map.of(), System.out)).setErr(new PrintWriter(err, true))
                    .execute(c[0], c[1], c[2], c[3], "--no-java", "true");
            assertThat(code).as(String.join(" ", c)).isEqualTo(LauncherCommand.USAGE);
            assertThat(err.toString()).isEqualTo("launcher: " + c[4] + "\n");
        }
    }

    @Test
    void torchrunOptionsWithoutMeaningHereAreIgnoredWithOneLineEach(@TempDir Path logs) {
        StringWriter err = new StringWriter();
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        int code = LauncherCommand.commandLine(new LauncherCommand(Map.of(), quiet)).setErr(new PrintWriter(err, true))
                .execute("--standalone", "--log-dir", logs.toString(), "--start_method", "spawn", "--rdzv-conf", "join_timeout=900", "--run-path",
                        "--role", "trainer", "--no-java", "true");
        assertThat(code).as(err.toString()).isZero();
        assertThat(err.toString()).isEqualTo("""
                launcher: ignoring torchrun's --rdzv-conf join_timeout=900: the master launcher is the rendezvous and has no settings
                launcher: ignoring torchrun's --start-method spawn: ranks are always started as new processes
                launcher: ignoring torchrun's --role trainer: every rank has the same role
                launcher: ignoring torchrun's --run-path: there is no Python script to run
                """);
    }

    @Test
    void nprocPerNodeGpuIsOneRankPerVisibleGpu() throws Exception {
        assertThat(resolve(Map.of("CUDA_VISIBLE_DEVICES", "0,1"), "--nproc_per_node", "gpu").nprocPerNode()).isEqualTo(2);
        assertThatThrownBy(() -> resolve(Map.of("CUDA_VISIBLE_DEVICES", ""), "--nproc-per-node", "gpu"))
                .hasMessageContaining("no GPU found");
    }

    @Test
    void heartbeatAndNodeTimeoutHaveDefaultsAndUnderscoreForms() throws Exception {
        LaunchSpec d = resolve();
        assertThat(d.heartbeatInterval()).isEqualTo(5);
        assertThat(d.nodeTimeout()).isEqualTo(30);
        LaunchSpec s = resolve("--heartbeat_interval", "0.5", "--node_timeout", "2");
        assertThat(s.heartbeatInterval()).isEqualTo(0.5);
        assertThat(s.nodeTimeout()).isEqualTo(2);
    }
}
