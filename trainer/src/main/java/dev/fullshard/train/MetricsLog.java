package dev.fullshard.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code metrics.jsonl} in the output directory: one JSON object per line, appended and flushed as
 * events happen, so a crashed run keeps what it logged and a resumed run continues the same file.
 * Also keeps the points the final plot needs, including those of earlier runs in the same file.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One training-loss point of the plot. */
    public record Point(long step, double loss, double lr) {
    }

    /** One evaluation point of the plot. */
    public record EvalPoint(long step, double loss) {
    }

    private final BufferedWriter out;
    // By step: a resumed run logs again the steps after its checkpoint, and the later record wins.
    private final TreeMap<Long, Point> train = new TreeMap<>();
    private final TreeMap<Long, EvalPoint> eval = new TreeMap<>();

    /** Opens {@code file} for appending, first reading back the points an earlier (interrupted) run logged there. */
    public MetricsLog(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        if (Files.isRegularFile(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode r;
                try {
                    r = JSON.readTree(line);
                } catch (IOException e) {
                    continue; // a line cut short by a crash
                }
                if (r == null || !r.has("type") || !r.has("step")) continue;
                long step = r.get("step").asLong();
                if (r.get("type").asText().equals("train")) train.put(step, new Point(step, r.path("loss").asDouble(), r.path("lr").asDouble()));
                if (r.get("type").asText().equals("eval")) eval.put(step, new EvalPoint(step, r.path("eval_loss").asDouble()));
            }
        }
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private MetricsLog(BufferedWriter out) {
        this.out = out;
    }

    /** A log that writes nothing (ranks other than 0 of a data-parallel run). */
    public static MetricsLog discarding() {
        return new MetricsLog(new BufferedWriter(java.io.Writer.nullWriter()));
    }

    /** A training step's metrics. */
    public void train(long step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond, long tokens) {
        train(step, epoch, loss, lr, gradNorm, tokensPerSecond, tokens, Map.of());
    }

    /** As above, with {@code extra} fields (the step's time split, say) appended to the line. */
    public void train(long step, double epoch, double loss, double lr, double gradNorm, double tokensPerSecond, long tokens,
                      Map<String, Object> extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "train");
        m.put("step", step);
        m.put("epoch", epoch);
        m.put("loss", loss);
        m.put("lr", lr);
        m.put("grad_norm", gradNorm);
        m.put("tokens_per_second", tokensPerSecond);
        m.put("tokens", tokens);
        m.putAll(extra);
        write(m);
        train.put(step, new Point(step, loss, lr));
    }

    /** An evaluation's loss and perplexity. */
    public void eval(long step, double loss, long tokens) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "eval");
        m.put("step", step);
        m.put("eval_loss", loss);
        m.put("eval_perplexity", Math.exp(loss));
        m.put("eval_tokens", tokens);
        write(m);
        eval.put(step, new EvalPoint(step, loss));
    }

    /** Any other event (a skipped fp16 step, a checkpoint, the summary). */
    public void event(String type, Map<String, Object> fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.putAll(fields);
        write(m);
    }

    /** Training points of this run and of the earlier runs in the same file, by step. */
    public List<Point> trainPoints() {
        return List.copyOf(train.values());
    }

    public List<EvalPoint> evalPoints() {
        return List.copyOf(eval.values());
    }

    private void write(Map<String, Object> record) {
        try {
            record.put("time", System.currentTimeMillis() / 1000.0);
            out.write(JSON.writeValueAsString(record));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("could not append to metrics.jsonl", e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
