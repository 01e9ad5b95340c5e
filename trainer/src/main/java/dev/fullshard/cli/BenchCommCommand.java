package dev.fullshard.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fullshard.dist.CollectiveBandwidth;
import dev.fullshard.dist.CollectiveBandwidth.Op;
import dev.fullshard.dist.CollectiveBandwidth.Row;
import dev.fullshard.dist.Communicator;
import dev.fullshard.dist.Communicators;
import dev.fullshard.dist.LocalCommunicator;
import dev.fullshard.dist.MpiCommunicator;
import dev.fullshard.tensor.Device;
import dev.fullshard.train.RankDevice;
import dev.fullshard.train.TrainConfig.DeviceChoice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code fullshard bench comm}: the collectives' bandwidth through the trainer's own communicator, nccl-tests style. */
@Command(name = "comm", mixinStandardHelpOptions = true,
        description = {"Time all_reduce, all_gather and reduce_scatter over doubling message sizes on every rank (MPI on the CPU, "
                + "NCCL on GPUs) and print time, algorithm and bus bandwidth as nccl-tests does; every result is checked.",
                "Run it on several ranks through the launcher: launcher --standalone --nproc 4 bench comm.",
                "Exit codes: 0 every result right, 1 a result was wrong or the run failed."})
public final class BenchCommCommand implements Callable<Integer> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)([KMG]?)", Pattern.CASE_INSENSITIVE);
    /** Bytes in a host name's slot when the ranks exchange them; longer names are cut. */
    private static final int HOST_BYTES = 64;

    @Spec
    CommandSpec spec;

    @Option(names = "--min-bytes", defaultValue = "1K", paramLabel = "SIZE",
            description = "Smallest message: a power of two, in bytes or with K, M or G (1024-based) (default: ${DEFAULT-VALUE}).")
    String minBytes;

    @Option(names = "--max-bytes", defaultValue = "1G", paramLabel = "SIZE",
            description = "Largest message, lowered to what the free memory allows (default: ${DEFAULT-VALUE}).")
    String maxBytes;

    @Option(names = "--ops", defaultValue = "all_reduce,all_gather,reduce_scatter", split = ",", paramLabel = "OP",
            description = "The collectives to measure, in this order (default: ${DEFAULT-VALUE}).")
    List<String> ops;

    @Option(names = "--iters", defaultValue = "20", description = "Timed runs per size (default: ${DEFAULT-VALUE}).")
    int iters;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed runs per size before them (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda",
            description = "cuda: GPU LOCAL_RANK with NCCL; cpu: MPI; auto: cuda when a GPU is usable (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results and the environment as JSON (rank 0).")
    Path json;

    /** What the flags ask for, checked. */
    record Settings(long minBytes, long maxBytes, List<Op> ops, int warmup, int iters) {
    }

    @Override
    public Integer call() throws IOException {
        Settings settings = settings();
        DeviceChoice choice = BenchCommand.deviceChoice(device);
        Map<String, String> env = System.getenv();
        try (Communicator comm = Communicators.fromEnvironment(env, RankDevice.select(choice, env))) {
            return run(comm, settings, json, spec.commandLine().getOut(), spec.commandLine().getErr());
        }
    }

    Settings settings() {
        long min = parseBytes("--min-bytes", minBytes), max = parseBytes("--max-bytes", maxBytes);
        if (min > max) throw new IllegalArgumentException("--min-bytes " + minBytes + " is above --max-bytes " + maxBytes);
        if (iters < 1) throw new IllegalArgumentException("--iters must be at least 1, got " + iters);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be at least 0, got " + warmup);
        LinkedHashSet<Op> chosen = new LinkedHashSet<>();
        for (String name : ops) chosen.add(parseOp(name));
        return new Settings(min, max, List.copyOf(chosen), warmup, iters);
    }

    /** A power of two of at least 4 bytes (one float32), as {@code 4096}, {@code 4K}, {@code 64M} or {@code 1G}. */
    static long parseBytes(String flag, String text) {
        Matcher m = SIZE.matcher(text.strip());
        // At most 2^32 - 1 before the unit, so the shift cannot overflow.
        if (m.matches() && m.group(1).length() <= 10 && Long.parseLong(m.group(1)) < 1L << 32) {
            int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
                case "K" -> 10;
                case "M" -> 20;
                case "G" -> 30;
                default -> 0;
            };
            long bytes = Long.parseLong(m.group(1)) << shift;
            if (bytes >= 4 && Long.bitCount(bytes) == 1) return bytes;
        }
        throw new IllegalArgumentException(flag + " " + text + ": expected a power of two of at least 4 bytes, in bytes or with K, M or G "
                + "(1024-based), e.g. 4K, 64M, 1G");
    }

    private static Op parseOp(String name) {
        for (Op op : Op.values()) if (op.label().equals(name.strip().toLowerCase(Locale.ROOT))) return op;
        throw new IllegalArgumentException("--ops " + name + ": expected all_reduce, all_gather or reduce_scatter");
    }

    /**
     * Runs the benchmark as one rank of {@code comm} (every rank calls it alike); rank 0 prints the tables and
     * writes {@code json} (when not null), a rank with a wrong result prints it to {@code err}. Returns the exit
     * code, the same on every rank: 1 when any rank had a wrong result.
     */
    static int run(Communicator comm, Settings s, Path json, PrintWriter out, PrintWriter err) throws IOException {
        List<String> hosts = hostNames(comm);
        Map<String, List<Integer>> ranksByHost = new LinkedHashMap<>();
        for (int r = 0; r < hosts.size(); r++) ranksByHost.computeIfAbsent(hosts.get(r), h -> new ArrayList<>()).add(r);
        int ranksPerNode = ranksByHost.values().stream().mapToInt(List::size).max().orElseThrow();
        long max = CollectiveBandwidth.largestFitting(comm, s.maxBytes(), ranksByHost.get(hosts.get(comm.rank())).size());
        String backend = comm instanceof LocalCommunicator ? "none (one process)" : comm instanceof MpiCommunicator ? "MPI" : "NCCL";
        boolean main = comm.isMain();
        int n = comm.size();
        if (main) {
            out.printf("# fullshard bench comm: %d rank%s, %d per node, on %s, collectives over %s%n", n, n == 1 ? "" : "s", ranksPerNode,
                    comm.device(), backend);
            ranksByHost.forEach((host, ranks) -> out.printf("#   %s: rank%s %s%n", host, ranks.size() == 1 ? "" : "s", ranks));
            out.printf("# float32; %d warm-up and %d timed runs per size; time: the mean per op on the slowest rank; GB = 1e9 bytes%n",
                    s.warmup(), s.iters());
            if (max < s.maxBytes()) {
                out.printf("# sizes capped at %s (asked for %s): a rank needs about 3× the size in free %s memory%n",
                        CollectiveBandwidth.bytesLabel(max), CollectiveBandwidth.bytesLabel(s.maxBytes()),
                        comm.device().type() == Device.Type.CUDA ? "GPU" : "host");
            }
            if (n == 1) out.println("# one rank: bus bandwidth is 0 by the formula, as nothing crosses a link");
            out.flush();
        }
        List<Row> rows = new ArrayList<>();
        for (Op op : s.ops()) {
            if (main) {
                out.printf("%n# %s: busbw = algbw × %.4f%n", op.label(), op.busFactor(n));
                out.printf("%12s %12s %12s %12s %12s  %s%n", "size(B)", "count", "time(us)", "algbw(GB/s)", "busbw(GB/s)", "check");
            }
            for (long bytes = Math.min(s.minBytes(), max); bytes <= max; bytes *= 2) {
                Row row = CollectiveBandwidth.measure(comm, op, bytes, s.warmup(), s.iters());
                rows.add(row);
                if (row.problem() != null) {
                    err.println("fullshard bench comm: " + row.problem());
                    err.flush();
                }
                if (main) {
                    out.printf(Locale.ROOT, "%12d %12d %12.2f %12.3f %12.3f  %s%n", row.bytes(), row.count(), row.seconds() * 1e6,
                            row.algBandwidth() / 1e9, row.busBandwidth() / 1e9, row.checked() ? "ok" : "WRONG on ranks " + row.wrongRanks());
                    out.flush();
                }
            }
            if (main) {
                // By algbw: the same row as by busbw, a constant multiple of it, and still telling at one rank.
                Row peak = rows.stream().filter(r -> r.op() == op).max((a, b) -> Double.compare(a.algBandwidth(), b.algBandwidth())).orElseThrow();
                out.printf(Locale.ROOT, "# %s peak: busbw %.3f GB/s (algbw %.3f GB/s) at %s%n", op.label(), peak.busBandwidth() / 1e9,
                        peak.algBandwidth() / 1e9, CollectiveBandwidth.bytesLabel(peak.bytes()));
            }
        }
        long wrong = rows.stream().filter(r -> !r.checked()).count();
        if (main) {
            out.println(wrong == 0 ? "\n# every result checked: right"
                    : "\n# " + wrong + " of " + rows.size() + " results WRONG (each rank printed its first wrong element)");
            out.flush();
            if (json != null) writeJson(json, comm, backend, ranksPerNode, hosts, s, max, rows);
        }
        if (wrong > 0 && main) err.println("fullshard bench comm: " + wrong + " of " + rows.size() + " results wrong");
        err.flush();
        return wrong == 0 ? 0 : 1;
    }

    /** Every rank's host name, by rank. */
    private static List<String> hostNames(Communicator comm) throws IOException {
        byte[] mine = Arrays.copyOf(hostName().getBytes(StandardCharsets.UTF_8), HOST_BYTES);
        long[] packed = new long[HOST_BYTES / Long.BYTES];
        ByteBuffer.wrap(mine).asLongBuffer().get(packed);
        long[] all = CollectiveBandwidth.allGather(comm, packed);
        ByteBuffer bytes = ByteBuffer.allocate(all.length * Long.BYTES);
        bytes.asLongBuffer().put(all);
        List<String> names = new ArrayList<>();
        for (int r = 0; r < comm.size(); r++) {
            names.add(new String(bytes.array(), r * HOST_BYTES, HOST_BYTES, StandardCharsets.UTF_8).replace("\0", ""));
        }
        return names;
    }

    /** As the launcher names its node: the kernel's host name, without a name lookup. */
    private static String hostName() throws IOException {
        Path kernel = Path.of("/proc/sys/kernel/hostname");
        return Files.isReadable(kernel) ? Files.readString(kernel).strip() : InetAddress.getLocalHost().getHostName();
    }

    private static void writeJson(Path file, Communicator comm, String backend, int ranksPerNode, List<String> hosts, Settings s, long max,
                                  List<Row> rows) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode().put("world_size", comm.size()).put("ranks_per_node", ranksPerNode)
                .put("device", comm.device().toString()).put("backend", backend).put("dtype", "float32")
                .put("java", Runtime.version().toString()).put("warmup", s.warmup()).put("iters", s.iters())
                .put("min_bytes", s.minBytes()).put("max_bytes_asked", s.maxBytes()).put("max_bytes", max);
        ArrayNode hostArray = root.putArray("hosts");
        hosts.forEach(hostArray::add);
        ArrayNode results = root.putArray("results");
        for (Row r : rows) {
            ObjectNode o = results.addObject().put("op", r.op().label()).put("bytes", r.bytes()).put("count", r.count())
                    .put("time_us", r.seconds() * 1e6).put("algbw_gb_s", r.algBandwidth() / 1e9).put("busbw_gb_s", r.busBandwidth() / 1e9)
                    .put("bus_factor", r.op().busFactor(comm.size())).put("checked", r.checked());
            ArrayNode wrongRanks = o.putArray("wrong_ranks");
            r.wrongRanks().forEach(wrongRanks::add);
        }
        root.put("ok", rows.stream().allMatch(Row::checked));
        Files.writeString(file, mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }
}
