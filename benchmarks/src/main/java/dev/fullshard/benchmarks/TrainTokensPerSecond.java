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
 * step did not process exactly the expected positions, so a comparison never rests on unequal batches.
 * Arguments: {@code output_dir warmup_steps tokens_per_step}.
 */
public final class TrainTokensPerSecond {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainTokensPerSecond() {
    }

    public static void main(String[] args) throws IOException {
        Path metrics = Path.of(args[0]).resolve("metrics.jsonl");
        int warmup = Integer.parseInt(args[1]);
        long expected = Long.parseLong(args[2]);
        long tokens = 0;
        double seconds = 0;
        int steps = 0;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = JSON.readTree(line);
            if (!n.path("type").asText().equals("train") || n.path("step").asLong() <= warmup) continue;
            // The line's "tokens" counts targets only; the step's positions are its rate times its time
            // (the trainer's step time is exactly the sum of this split).
            double stepSeconds = n.path("compute_s").asDouble() + n.path("communication_s").asDouble() + n.path("optimizer_s").asDouble();
            long positions = Math.round(n.path("tokens_per_second").asDouble() * stepSeconds);
            if (positions != expected) {
                throw new IllegalStateException(metrics + ": step " + n.path("step").asLong() + " processed " + positions
                        + " positions, expected " + expected);
            }
            tokens += positions;
            seconds += stepSeconds;
            steps++;
        }
        if (steps == 0) throw new IllegalStateException(metrics + ": no train step after the " + warmup + " warm-up steps");
        System.out.printf(Locale.ROOT, "tokens_per_second=%.3f timed_steps=%d tokens_per_step=%d%n", tokens / seconds, steps, expected);
    }
}
