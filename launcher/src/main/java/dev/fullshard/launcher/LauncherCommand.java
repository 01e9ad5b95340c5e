package dev.fullshard.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code launcher}: starts fullshard ranks (or any program with {@code --no-java}) on one or many nodes, with
 * torchrun's option names and worker environment. Every option can also come from {@code FULLSHARD_<NAME>}
 * (for example {@code FULLSHARD_NPROC_PER_NODE=4}); the command line wins.
 */
@Command(name = "launcher", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Starts fullshard ranks on one or many nodes (torchrun-compatible options and environment).")
public final class LauncherCommand implements Callable<Integer> {
    static final int USAGE = 2;
    static final int DEFAULT_PORT = 29500;

    @Option(names = "--nnodes", description = "Number of nodes (default 1, or from Slurm/PBS).") Integer nnodes;
    @Option(names = {"--nproc-per-node", "--nproc", "--nproc_per_node"}, description = "Ranks per node: N, cpu (one per core), gpu (one per GPU) or auto (gpu if there are GPUs, else cpu); default 1.") String nproc = "1";
    @Option(names = {"--signals-to-handle", "--signals_to_handle"}, description = "Signals forwarded to the ranks (default SIGTERM,SIGINT,SIGHUP,SIGUSR1).") String signalsToHandle = "SIGTERM,SIGINT,SIGHUP,SIGUSR1";
    @Option(names = {"--node-rank", "--node_rank"}, description = "This node's rank (default 0, or from Slurm/PBS).") Integer nodeRank;
    @Option(names = {"--master-addr", "--master_addr"}, description = "Master launcher address (default 127.0.0.1, or the first Slurm/PBS host).") String masterAddr;
    @Option(names = {"--master-port", "--master_port"}, description = "Master port for PMI and the node channel (default 29500).") Integer masterPort;
    @Option(names = {"--rdzv-id", "--rdzv_id"}, description = "Job id; also the node channel secret unless FULLSHARD_RDZV_SECRET is set.") String rdzvId;
    @Option(names = "--standalone", description = "Single node on 127.0.0.1, free port, generated id and secret.") boolean standalone;
    @Option(names = {"--max-restarts", "--max_restarts"}, description = "Gang restarts before failing (default 0).") int maxRestarts;
    @Option(names = {"--monitor-interval", "--monitor_interval"}, description = "Seconds between rank polls (default 0.1).") double monitorInterval = 0.1;
    @Option(names = {"--grace-period", "--grace_period"}, description = "Seconds between the forwarded signal and SIGKILL when the user or the scheduler stops the ranks (default 30).") double gracePeriod = 30;
    @Option(names = {"--failure-grace-period", "--failure_grace_period"}, description = "Seconds between SIGTERM and SIGKILL when the ranks are stopped because a rank failed or hung (default 5).") double failureGracePeriod = 5;
    @Option(names = {"--join-timeout", "--join_timeout"}, description = "Seconds the master waits for all nodes (default 600).") double joinTimeout = 600;
    @Option(names = {"--hang-timeout", "--hang_timeout"}, description = "Seconds without progress from a rank that reports progress before its threads are dumped and the gang restarted (default 0: off).") double hangTimeout;
    @Option(names = {"--log-dir", "--log_dir"}, description = "Base log directory (default ./fullshard-logs).") Path logDir;
    @Option(names = {"-r", "--redirects"}, description = "As torchrun: 1, 2 or 3 (or per rank, e.g. 0:3) sends rank output to the log files only (they always get it); 0 (default) shows it on the console too.") String redirects;
    @Option(names = {"-t", "--tee"}, description = "As torchrun: with --redirects, a nonzero value keeps rank output on the console as well.") String tee;
    @Option(names = {"--local-ranks-filter", "--local_ranks_filter"}, description = "Local ranks shown on the console, e.g. 0,1 (logs unaffected).") String localRanksFilter;
    // torchrun's rendezvous spellings, so that existing sbatch scripts run unchanged
    @Option(names = {"--rdzv-endpoint", "--rdzv_endpoint"}, description = "As torchrun: host[:port] or [ipv6][:port] of the master; the same as --master-addr and --master-port.") String rdzvEndpoint;
    @Option(names = {"--rdzv-backend", "--rdzv_backend"}, description = "As torchrun: c10d or static (both mean the master launcher is the rendezvous).") String rdzvBackend;
    // a lost node
    @Option(names = {"--heartbeat-interval", "--heartbeat_interval"}, description = "Seconds between heartbeats on the node channel, both ways (default 5).") double heartbeatInterval = 5;
    @Option(names = {"--node-timeout", "--node_timeout"}, description = "Seconds of silence after which a node (or, on a node, the master) is lost and the job stopped (default 30).") double nodeTimeout = 30;
    // the network
    @Option(names = {"--network-interface", "--network_interface"}, description = "Network interface the ranks communicate over, e.g. eth0 (sets UCX_NET_DEVICES, FI_TCP_IFACE, FI_SOCKETS_IFACE, MPIR_CVAR_NEMESIS_TCP_NETWORK_IFACE and NCCL_SOCKET_IFNAME unless set; default: each engine chooses).") String networkInterface;
    @Option(names = {"--no-java", "--no-python", "--no_python"}, description = "Run the positional command itself per rank instead of the trainer.") boolean noJava;
    @Parameters(arity = "0..*", paramLabel = "ARGS", description = "train.yaml [key=value ...], bench [ARGS ...], or with --no-java: CMD [ARGS ...].") List<String> args = new ArrayList<>();

    @Spec CommandSpec commandSpec;

    private final Map<String, String> env;
    private final PrintStream console;
    private volatile Launcher launcher;

    public LauncherCommand() { this(System.getenv(), System.out); }

    /**
     * Local ranks whose output is echoed on the console (empty: all). torchrun's {@code --redirects}
     * keeps it in the log files only, unless {@code --tee} asks for the console too.
     */
    private Set<Integer> consoleRanks() {
        boolean redirected = redirects != null && !redirects.isBlank() && !redirects.strip().equals("0");
        boolean teed = tee != null && !tee.isBlank() && !tee.strip().equals("0");
        if (redirected && !teed) return Set.of(-1); // no local rank is -1: nothing is echoed
        return WorkerGroup.parseFilter(localRanksFilter);
    }

    LauncherCommand(Map<String, String> env, PrintStream console) {
        this.env = env;
        this.console = console;
    }

    /** A command line parser that reads option defaults from FULLSHARD_* variables of {@code env}. */
    static CommandLine commandLine(LauncherCommand cmd) {
        CommandLine cl = new CommandLine(cmd);
        TorchrunOnlyOptions.addTo(cl.getCommandSpec());
        // The first positional (train.yaml, or the --no-java command) ends the launcher's options: what follows
        // belongs to the rank. An unknown option before it is a mistake, not the start of the rank's command.
        cl.setStopAtPositional(true);
        cl.setParameterExceptionHandler(LauncherCommand::usageError);
        cl.setDefaultValueProvider(arg -> {
            if (!(arg instanceof OptionSpec o)) return null;
            String v = cmd.env.get(envName(o.longestName()));
            if (v == null) return null;
            if (o.type() == boolean.class || o.type() == Boolean.class) return String.valueOf(v.equals("1") || v.equalsIgnoreCase("true"));
            return v;
        });
        return cl;
    }

    /** One line per command line mistake: the full usage (40 lines) would bury it. */
    private static int usageError(ParameterException e, String[] argv) {
        String msg = e.getMessage();
        if (e instanceof UnmatchedArgumentException u && u.isUnknownOption()) {
            String unknown = u.getUnmatched().getFirst();
            // picocli's suggestions share a prefix with the unknown option but come unranked
            msg = "unknown option '" + unknown + "'" + u.getSuggestions().stream()
                    .min(java.util.Comparator.comparingInt(s -> editDistance(unknown, s)))
                    .map(s -> " (did you mean " + s + "?)").orElse(" (launcher --help lists them)");
        }
        e.getCommandLine().getErr().println("launcher: " + msg);
        return USAGE;
    }

    /** Levenshtein distance. */
    static int editDistance(String a, String b) {
        int[] row = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) row[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int above = row[j];
                row[j] = Math.min(Math.min(row[j] + 1, row[j - 1] + 1), diagonal + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.length()];
    }

    static String envName(String option) {
        return "FULLSHARD_" + option.replaceFirst("^-+", "").replace('-', '_').toUpperCase(java.util.Locale.ROOT);
    }

    @Override
    public Integer call() throws Exception {
        LaunchSpec spec;
        try {
            spec = resolve();
            TorchrunOnlyOptions.notes(commandSpec.commandLine().getParseResult()).forEach(commandSpec.commandLine().getErr()::println);
        } catch (IllegalArgumentException e) {
            commandSpec.commandLine().getErr().println("launcher: " + e.getMessage());
            return USAGE;
        }
        launcher = new Launcher(spec, console);
        handleSignals();
        return launcher.run();
    }

    /** GPUs this node offers: CUDA_VISIBLE_DEVICES when set, else the /dev/nvidiaN device files. */
    static int gpuCount(Map<String, String> env) {
        String visible = env.get("CUDA_VISIBLE_DEVICES");
        if (visible != null) return visible.isBlank() ? 0 : visible.split(",").length;
        java.io.File[] devices = new java.io.File("/dev").listFiles((d, n) -> n.matches("nvidia\\d+"));
        return devices == null ? 0 : devices.length;
    }

    /**
     * This machine's name, for finding it in a scheduler's node list. Read without a DNS lookup
     * (getLocalHost resolves the name, which fails or stalls on a machine whose name no resolver knows):
     * Slurm's name for this node (SLURMD_NODENAME, the name its node lists use), then the kernel's name, then
     * the resolver. Not HOSTNAME: srun, ssh and mpiexec pass the environment on, so on every node but the first
     * it names the host the job was submitted from.
     */
    static String localHostName(Map<String, String> env) {
        String name = env.get("SLURMD_NODENAME");
        if (name != null && !name.isBlank()) return name.strip();
        try {
            name = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).strip();
            if (!name.isEmpty()) return name;
        } catch (java.io.IOException | RuntimeException ignored) {
            // not Linux: ask the resolver
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }

    /** Forwards a signal the launcher received (installed by {@link #main}). */
    void signal(String name) {
        Launcher l = launcher;
        if (l != null) l.signal(name);
        else System.exit(128 + Signals.number(name));
    }

    LaunchSpec resolve() throws Exception {
        if (args.isEmpty()) throw new IllegalArgumentException(noJava ? "--no-java needs a command to run"
                : "missing train.yaml (or use --no-java CMD ...)");
        require(maxRestarts >= 0, "--max-restarts", "0 or more", maxRestarts);
        require(masterPort == null || masterPort >= 0 && masterPort <= 65535, "--master-port", "a port in 0..65535", masterPort);
        requireSeconds("--monitor-interval", monitorInterval);
        requireSeconds("--grace-period", gracePeriod);
        requireSeconds("--failure-grace-period", failureGracePeriod);
        requireSeconds("--join-timeout", joinTimeout);
        require(Double.isFinite(hangTimeout) && hangTimeout >= 0, "--hang-timeout", "0 (off) or more seconds", hangTimeout);
        requireInterface();
        requireSeconds("--heartbeat-interval", heartbeatInterval);
        require(Double.isFinite(nodeTimeout) && nodeTimeout > heartbeatInterval, "--node-timeout",
                "more seconds than --heartbeat-interval " + heartbeatInterval, nodeTimeout);
        require(rdzvBackend == null || List.of("c10d", "static").contains(rdzvBackend.strip().toLowerCase(java.util.Locale.ROOT)),
                "--rdzv-backend", "c10d or static (the master launcher is the rendezvous)", rdzvBackend);
        RdzvEndpoint endpoint = rdzvEndpoint == null || rdzvEndpoint.isBlank() ? null : RdzvEndpoint.parse(rdzvEndpoint);
        String host = localHostName(env);
        Placement sched = standalone ? null : Placement.detect(env, host);
        int nn = nnodes != null ? nnodes : sched != null ? sched.nnodes() : 1;
        int nr = nodeRank != null ? nodeRank : sched != null ? sched.nodeRank() : 0;
        String chosenAddr = oneOf("--rdzv-endpoint", endpoint == null ? null : endpoint.host(), "--master-addr", masterAddr);
        String addr = chosenAddr != null ? chosenAddr : sched != null ? sched.masterAddr() : "127.0.0.1";
        Integer chosenPort = oneOf("--rdzv-endpoint", endpoint == null ? null : endpoint.port(), "--master-port", masterPort);
        int port = chosenPort != null ? chosenPort : DEFAULT_PORT;
        String id = rdzvId;
        if (standalone) {
            nn = 1; nr = 0; addr = "127.0.0.1"; port = 0; id = null;
        }
        if (id == null || id.isBlank() || id.equals("none")) {
            if (nn > 1) throw new IllegalArgumentException("--nnodes " + nn + " needs --rdzv-id (the same on every node)"
                    + " or FULLSHARD_RDZV_SECRET");
            id = "run" + HexFormat.of().formatHex(random(4));
        }
        String secret = env.get("FULLSHARD_RDZV_SECRET");
        if (secret == null || secret.isBlank()) secret = standalone || nn == 1 ? HexFormat.of().formatHex(random(16)) : id;
        if (secret.contains(" ") || secret.contains("\n")) throw new IllegalArgumentException("the secret must not contain spaces");
        if (nn < 1) throw new IllegalArgumentException("--nnodes must be at least 1");
        if (nr < 0 || nr >= nn) throw new IllegalArgumentException("--node-rank " + nr + " is outside 0.." + (nn - 1));
        int np = switch (nproc) {
            case "cpu" -> Runtime.getRuntime().availableProcessors();
            case "gpu" -> {
                int gpus = gpuCount(env);
                if (gpus == 0) throw new IllegalArgumentException("--nproc-per-node gpu: no GPU found (no /dev/nvidiaN devices, or CUDA_VISIBLE_DEVICES is empty)");
                yield gpus;
            }
            case "auto" -> gpuCount(env) > 0 ? gpuCount(env) : Runtime.getRuntime().availableProcessors();
            default -> {
                try { yield Integer.parseInt(nproc); } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--nproc-per-node must be a number, cpu, gpu or auto: " + nproc);
                }
            }
        };
        if (np < 1) throw new IllegalArgumentException("--nproc-per-node must be at least 1");
        Path logs = (logDir != null ? logDir : Path.of("fullshard-logs")).resolve(id).toAbsolutePath();
        return new LaunchSpec(nn, np, nr, addr, port, id, secret, maxRestarts, monitorInterval, gracePeriod,
                failureGracePeriod, joinTimeout, logs, consoleRanks(), rankCommand(), env, host, hangTimeout,
                heartbeatInterval, nodeTimeout, networkInterface);
    }

    /**
     * The value of two options that say the same thing: the one given on the command line wins over one from a
     * FULLSHARD_* variable; two that disagree on the same level are a mistake.
     */
    private <T> T oneOf(String optionA, T a, String optionB, T b) {
        if (a == null || b == null || a.equals(b)) return a != null ? a : b;
        boolean aGiven = onCommandLine(optionA), bGiven = onCommandLine(optionB);
        if (aGiven != bGiven) return aGiven ? a : b;
        throw new IllegalArgumentException(optionA + " says " + a + " but " + optionB + " says " + b + ": give one of them");
    }

    private boolean onCommandLine(String option) {
        return commandSpec.commandLine().getParseResult().hasMatchedOption(option);
    }

    private static void require(boolean ok, String option, String expected, Object value) {
        if (!ok) throw new IllegalArgumentException(option + " must be " + expected + ", not " + value);
    }

    /** An interface this node lacks would only fail later, inside every rank's MPI start-up, far less clearly. */
    private void requireInterface() throws java.net.SocketException {
        if (networkInterface == null || networkInterface.isBlank()) return;
        if (java.net.NetworkInterface.getByName(networkInterface) != null) return;
        List<String> names = java.net.NetworkInterface.networkInterfaces().map(java.net.NetworkInterface::getName).sorted().toList();
        throw new IllegalArgumentException("--network-interface " + networkInterface + ": this node has no such interface (it has "
                + String.join(", ", names) + ")");
    }

    private static void requireSeconds(String option, double seconds) {
        require(Double.isFinite(seconds) && seconds > 0, option, "a number of seconds above 0", seconds);
    }

    /** fullshard commands that run as ranks under the launcher, named as its first positional argument. */
    static final Set<String> RANK_COMMANDS = Set.of("train", "bench");

    private List<String> rankCommand() {
        if (noJava) return List.copyOf(args);
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        String opts = env.get("FULLSHARD_JAVA_OPTS");
        if (opts != null && !opts.isBlank()) cmd.addAll(List.of(opts.strip().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.fullshard.cli.FullshardCommand"));
        // `launcher ... bench ...` runs that fullshard command on every rank; anything else is train's config.
        if (!RANK_COMMANDS.contains(args.getFirst())) cmd.add("train");
        cmd.addAll(args);
        return cmd;
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /** Installs handlers for --signals-to-handle; a signal the JVM keeps for itself (SIGQUIT) is reported and skipped. */
    private void handleSignals() {
        for (String name : signalsToHandle.split(",")) {
            String sig = name.strip().toUpperCase(java.util.Locale.ROOT).replaceFirst("^SIG", "");
            if (sig.isEmpty()) continue;
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> signal(sig));
            } catch (IllegalArgumentException e) {
                System.err.println("launcher: cannot handle SIG" + sig + " (" + e.getMessage() + "); it is not forwarded");
            }
        }
    }

    public static void main(String[] argv) {
        System.exit(commandLine(new LauncherCommand()).execute(argv));
    }
}
