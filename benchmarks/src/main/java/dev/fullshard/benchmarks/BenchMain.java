package dev.fullshard.benchmarks;

import dev.fullshard.tensor.Elementwise;
import dev.fullshard.tensor.Matmul;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the benchmarks (each in its own fork, with the thread count and JVM flags of its class's
 * {@code @Fork}), writes JMH's JSON under the results folder, and prints ns/call and the wrapper
 * overhead ratios.
 *
 * <p>Arguments: {@code [--out DIR] [--quick] [REGEX...]}; REGEX selects benchmarks as JMH's include
 * does (default: all of them); {@code --quick} is a smoke run of a few hundred milliseconds each.
 */
public final class BenchMain {
    private BenchMain() {
    }

    /** numerator, denominator, label. */
    private static final String[][] RATIOS = {
            {"DispatcherBenchmark.opsMul", "DispatcherBenchmark.rawDispatcherMul", "Elementwise.mul / raw dispatcher mul"},
            {"MatmulBenchmark.opsMm", "MatmulBenchmark.rawDispatcherMm", "Matmul.mm / raw dispatcher mm"},
            {"DispatcherBenchmark.rawDispatcherMul", "ShimBenchmark.rawShimMul", "raw dispatcher mul / raw shim mul"},
            {"ShimBenchmark.opsAdd", "ShimBenchmark.rawShimSubtract", "Elementwise.add / raw shim subtract (its call)"},
    };

    public static void main(String[] args) throws RunnerException, IOException {
        Path out = Path.of("benchmarks", "results");
        boolean quick = false;
        List<String> includes = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--quick" -> quick = true;
                default -> includes.add(args[i]);
            }
        }
        if (includes.isEmpty()) includes.add(BenchMain.class.getPackageName() + "\\.");
        Files.createDirectories(out);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path json = out.resolve("jmh-" + stamp + ".json");

        ChainedOptionsBuilder options = new OptionsBuilder().resultFormat(ResultFormatType.JSON).result(json.toString());
        for (String include : includes) options.include(include);
        if (quick) {
            options.warmupIterations(1).warmupTime(TimeValue.milliseconds(300))
                    .measurementIterations(2).measurementTime(TimeValue.milliseconds(300));
        }
        Map<String, Result<?>> results = new LinkedHashMap<>();
        for (RunResult r : new Runner(options.build()).run()) {
            String name = r.getParams().getBenchmark();
            String[] parts = name.split("\\.");
            results.put(parts[parts.length - 2] + "." + parts[parts.length - 1], r.getPrimaryResult());
        }

        StringBuilder table = new StringBuilder();
        table.append(String.format("%n%-40s %14s %12s%n", "benchmark", "ns/call", "± (99.9%)"));
        results.forEach((name, r) -> table.append(String.format("%-40s %14.2f %12.2f%n", name, r.getScore(), r.getScoreError())));
        boolean header = false;
        for (String[] ratio : RATIOS) {
            Result<?> num = results.get(ratio[0]);
            Result<?> den = results.get(ratio[1]);
            if (num == null || den == null) continue;
            if (!header) {
                table.append(String.format("%n%-40s %8s %10s %16s%n", "ratio", "value", "± approx", "difference (ns)"));
                header = true;
            }
            double value = num.getScore() / den.getScore();
            // Independent errors: relative errors add in quadrature.
            double error = value * Math.hypot(num.getScoreError() / num.getScore(), den.getScoreError() / den.getScore());
            table.append(String.format("%-40s %8.3f %10.3f %+16.1f%n", ratio[2], value, error, num.getScore() - den.getScore()));
        }
        System.out.print(table);
        Path summary = out.resolve("summary-" + stamp + ".txt");
        Files.writeString(summary, table.toString());
        System.out.println("\nJMH JSON: " + json + "\nsummary:  " + summary);
    }
}
