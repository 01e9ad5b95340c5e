package dev.fullshard.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model cut into the units that are fetched, used and released together: unit 0 the embedding,
 * units 1…L the decoder blocks, unit L+1 the head (the final norm, and the LM head unless it is tied to
 * the embedding). The sharding layer gathers one unit at a time; this is the only place that says which
 * parameter belongs to which unit.
 */
public final class ModelUnits {
    public static final int EMBEDDING = 0;

    private ModelUnits() {
    }

    /** The unit of decoder block {@code layer}. */
    public static int block(int layer) {
        return layer + 1;
    }

    /** The unit of the final norm and LM head. */
    public static int head(ModelConfig config) {
        return config.numLayers() + 1;
    }

    /** Number of units: L + 2. */
    public static int count(ModelConfig config) {
        return config.numLayers() + 2;
    }

    /** Each unit's parameters (Hugging Face names and shapes, in Hugging Face order), unit by unit. */
    public static List<Map<String, long[]>> shapes(ModelConfig config) {
        List<Map<String, long[]>> units = new ArrayList<>();
        for (int u = 0; u < count(config); u++) units.add(new LinkedHashMap<>());
        Parameters.shapes(config).forEach((name, shape) -> units.get(unitOf(config, name)).put(name, shape));
        return units;
    }

    /** The unit that holds parameter {@code name}. */
    public static int unitOf(ModelConfig config, String name) {
        if (name.equals(Parameters.Names.EMBED)) return EMBEDDING;
        if (name.equals(Parameters.Names.FINAL_NORM) || name.equals(Parameters.Names.LM_HEAD)) return head(config);
        String prefix = "model.layers.";
        if (name.startsWith(prefix)) {
            int dot = name.indexOf('.', prefix.length());
            if (dot > 0) {
                int layer = Integer.parseInt(name.substring(prefix.length(), dot));
                if (layer < config.numLayers()) return block(layer);
            }
        }
        throw new IllegalArgumentException("no parameter " + name + " in this " + config.architecture().className());
    }
}
