package dev.fullshard.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Tokens/s of a {@code fullshard train} run after its warm-up steps, from the run's
 * {@code metrics.jsonl}: the positions (tokens of the batch, padding included, as Hugging Face counts
 * them) of the later steps over the sum of their step times, printed as
 * {@code tokens_per_second=<float> timed_steps=<int> tokens_per_step=<int>}. It fails when a timed
 * step did not process exactly batch × seq positions with a target at every position but each row's
 * last, as the PyTorch loop does: the trainer sends only target rows through the LM head, so fewer
 * targets would be less work, and the comparison would rest on unequal steps.
 * Arguments: {@code output_dir warmup_steps batch seq}.
 */
public final class TrainTokensPerSecond {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainTokensPerSecond() {
    }

    public static void main(String[] args) throws IOException {
        Path metrics = Path.of(args[0]).resolve("metrics.jsonl");
        int warmup = Integer.parseInt(args[1]);
        long batch = Long.parseLong(args[2]), seq = Long.parseLong(args[3]);
        long expected = batch * seq, expectedTargets = batch * (seq - 1);
        long tokens = 0, targetsBefore = 0;
        double seconds = 0;
        int steps = 0;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = JSON.readTree(line);
            if (!n.path("type").asText().equals("train")) continue;
            // "tokens" is the running total of targets, so a step's targets are the difference from the step before.
            long targets = n.path("tokens").asLong() - targetsBefore;
            targetsBefore = n.path("tokens").asLong();
            if (n.path("step").asLong() <= warmup) continue;
            // The step's positions are its rate times its time (the trainer's step time is exactly the sum of this split).
            double stepSeconds = n.path("compute_s").asDouble() + n.path("communication_s").asDouble() + n.path("optimizer_s").asDouble();
            long positions = Math.round(n.path("tokens_per_second").asDouble() * stepSeconds);
            if (positions != expected) {
                throw new IllegalStateException(metrics + ": step " + n.path("step").asLong() + " processed " + positions
                        + " positions, expected " + expected);
            }
            if (targets != expectedTargets) {
                throw new IllegalStateException(metrics + ": step " + n.path("step").asLong() + " trained on " + targets
                        + " targets, expected " + expectedTargets + " (every position but each row's last)");
            }
            tokens += positions;
            seconds += stepSeconds;
            steps++;
        }
        if (steps == 0) throw new IllegalStateException(metrics + ": no train step after the " + warmup + " warm-up steps");
        System.out.printf(Locale.ROOT, "tokens_per_second=%.3f timed_steps=%d tokens_per_step=%d%n", tokens / seconds, steps, expected);
    }
}
