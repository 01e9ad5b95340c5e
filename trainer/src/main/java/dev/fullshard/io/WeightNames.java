package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The check that a checkpoint holds exactly the weights a config's model has (the names and shapes
 * of {@link Parameters#shapes}), reporting every difference at once.
 */
public final class WeightNames {
    private static final String LM_HEAD = "lm_head.weight";

    private WeightNames() {
    }

    /**
     * How a checkpoint's tensors differ from what the config expects; empty lists when they match.
     *
     * @param missing    expected names the checkpoint lacks
     * @param unexpected names the checkpoint has and the model does not
     * @param misshaped  "name: expected [..], found [..]" for names present with another shape
     */
    public record Comparison(List<String> missing, List<String> unexpected, List<String> misshaped) {
        public boolean matches() {
            return missing.isEmpty() && unexpected.isEmpty() && misshaped.isEmpty();
        }

        /** Every difference, one per line. */
        public String describe() {
            StringJoiner j = new StringJoiner("\n");
            if (!missing.isEmpty()) j.add(missing.size() + " missing:").add("  " + String.join("\n  ", missing));
            if (!unexpected.isEmpty()) j.add(unexpected.size() + " unexpected:").add("  " + String.join("\n  ", unexpected));
            if (!misshaped.isEmpty()) j.add(misshaped.size() + " with the wrong shape:").add("  " + String.join("\n  ", misshaped));
            return j.toString();
        }
    }

    /**
     * Compares {@code shapes} (name to shape, e.g. {@link CheckpointReader#shapes()}) with the model.
     * Two names are tolerated: {@code *.rotary_emb.inv_freq}, a buffer some older exports saved that is
     * recomputed from the config, and {@code lm_head.weight} with the right shape when the embedding is
     * tied (the model ignores it).
     */
    public static Comparison compare(ModelConfig config, Map<String, long[]> shapes) {
        Map<String, long[]> remaining = new LinkedHashMap<>(shapes);
        List<String> missing = new ArrayList<>(), misshaped = new ArrayList<>();
        Parameters.shapes(config).forEach((name, shape) -> {
            long[] found = remaining.remove(name);
            if (found == null) missing.add(name);
            else if (!Arrays.equals(found, shape)) {
                misshaped.add(name + ": expected " + Arrays.toString(shape) + ", found " + Arrays.toString(found));
            }
        });
        long[] head = remaining.get(LM_HEAD);
        if (config.tieWordEmbeddings() && head != null && Arrays.equals(head, new long[] {config.vocabSize(), config.hiddenSize()})) {
            remaining.remove(LM_HEAD);
        }
        remaining.keySet().removeIf(name -> name.endsWith(".rotary_emb.inv_freq"));
        return new Comparison(List.copyOf(missing), List.copyOf(remaining.keySet()), List.copyOf(misshaped));
    }

    /** Throws, listing every difference, unless {@code shapes} holds exactly the model's weights. */
    public static void check(ModelConfig config, Map<String, long[]> shapes, Path checkpoint) throws CheckpointFormatException {
        Comparison c = compare(config, shapes);
        if (!c.matches()) {
            throw new CheckpointFormatException(checkpoint, "the weights do not match the " + config.architecture().className() + " config ("
                    + config.numLayers() + " layers):\n" + c.describe());
        }
    }
}
