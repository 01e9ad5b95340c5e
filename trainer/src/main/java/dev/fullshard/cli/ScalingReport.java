package dev.fullshard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.train.ScalingPlot;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Weak scaling from {@code fullshard bench} results at several world sizes, the per-rank batch the same:
 * a table (tokens/s, efficiency against the smallest world, the share of the step spent in exposed
 * communication) and a PNG ({@link ScalingPlot}). {@code bench --sweep-world} makes the results on this
 * node; on a cluster, run bench at each size and give the JSON files to {@code bench scaling}.
 */
final class ScalingReport {
    private ScalingReport() {
    }

    @picocli.CommandLine.Command(name = "scaling", mixinStandardHelpOptions = true,
            description = "Weak-scaling table and plot from bench JSON files, one per world size.")
    static final class Command implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "bench.json", description = "Results of fullshard bench, at different world sizes.")
        List<Path> files;

        @Option(names = "--plot", defaultValue = "scaling.png", paramLabel = "FILE", description = "The PNG to write (default: ${DEFAULT-VALUE}).")
        Path plot;

        @Override
        public Integer call() throws IOException {
            report(spec.commandLine().getOut(), files, plot);
            return 0;
        }
    }

    /** Runs {@code bench} through the launcher at each world size (this command's other arguments unchanged), then reports. */
    static int sweep(CommandSpec spec, List<Integer> worlds, Path json) throws IOException, InterruptedException {
        if (worlds.isEmpty() || worlds.stream().anyMatch(w -> w < 1)) throw new IllegalArgumentException("--sweep-world needs world sizes of 1 or more");
        List<Integer> sorted = worlds.stream().distinct().sorted().toList();
        List<String> args = benchArguments(spec.commandLine().getParseResult().originalArgs());
        String stem = json.getFileName().toString().replaceFirst("\\.json$", "");
        Path dir = json.toAbsolutePath().getParent();
        List<Path> files = new ArrayList<>();
        PrintWriter out = spec.commandLine().getOut();
        for (int world : sorted) {
            Path file = dir.resolve(stem + "-world" + world + ".json");
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), "dev.fullshard.launcher.LauncherCommand", "--standalone", "--nproc",
                    Integer.toString(world), "bench"));
            cmd.addAll(args);
            cmd.addAll(List.of("--json", file.toString()));
            out.printf(Locale.ROOT, "bench: world %d%n", world);
            out.flush();
            int code = new ProcessBuilder(cmd).inheritIO().start().waitFor();
            if (code != 0) throw new IllegalStateException("the bench at world " + world + " failed (exit " + code + "); see its output above");
            files.add(file);
        }
        report(out, files, dir.resolve(stem + "-scaling.png"));
        return 0;
    }

    /** The arguments after {@code bench}, without {@code --sweep-world} and {@code --json} (each sweep run gets its own). */
    static List<String> benchArguments(List<String> original) {
        List<String> args = new ArrayList<>(original.subList(original.indexOf("bench") + 1, original.size()));
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--sweep-world") || a.equals("--json")) i++;
            else if (!a.startsWith("--sweep-world=") && !a.startsWith("--json=")) kept.add(a);
        }
        return kept;
    }

    static void report(PrintWriter out, List<Path> files, Path plot) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        List<JsonNode> runs = new ArrayList<>();
        for (Path f : files) runs.add(mapper.readTree(f.toFile()));
        runs.sort(Comparator.comparingInt(r -> r.path("environment").path("world").asInt()));
        JsonNode base = runs.getFirst();
        double basePerRank = base.path("result").path("tokens_per_second_per_rank").asDouble();
        out.printf(Locale.ROOT, "%nweak scaling: %s, %d x %d tokens per rank, %s, %s%n", base.path("setup").path("model").asText(),
                base.path("setup").path("micro_batch").asInt(), base.path("setup").path("seq_len").asInt(),
                base.path("setup").path("mixed_precision").asText(), base.path("setup").path("sharding").asText());
        out.printf(Locale.ROOT, "%6s %12s %12s %11s %9s %13s %11s %8s%n", "world", "tokens/s", "per rank", "efficiency", "step s", "exposed comm",
                "comm share", "MFU");
        List<ScalingPlot.Point> points = new ArrayList<>();
        for (JsonNode r : runs) {
            int world = r.path("environment").path("world").asInt();
            JsonNode res = r.path("result");
            double perRank = res.path("tokens_per_second_per_rank").asDouble(), step = res.path("step_s").asDouble();
            double comm = res.path("communication_s").asDouble(), efficiency = perRank / basePerRank;
            out.printf(Locale.ROOT, "%6d %,12.0f %,12.0f %10.1f%% %9.4f %12.4fs %10.1f%% %7.1f%%%n", world, res.path("tokens_per_second").asDouble(),
                    perRank, 100 * efficiency, step, comm, 100 * comm / step, 100 * res.path("mfu").asDouble());
            points.add(new ScalingPlot.Point(world, res.path("tokens_per_second").asDouble(), efficiency, comm / step));
        }
        out.println("(efficiency: tokens/s per rank against world " + base.path("environment").path("world").asInt()
                + "; comm share: exposed communication / step time)");
        ScalingPlot.write(plot, points);
        out.println("plot: " + plot);
    }
}
