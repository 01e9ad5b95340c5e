package dev.fullshard.model;

import dev.fullshard.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Where a {@link CausalLm} gets each unit's weights and puts each unit's gradients ({@link ModelUnits}),
 * one unit at a time. This is the seam between the model and the sharding layer: the model never knows
 * whether a unit's weights were there all along or were just all-gathered from other ranks, nor what
 * is fetched ahead of time (the implementation knows the unit order, so it decides).
 *
 * <p>A pass {@link #run}s each unit: {@link #acquire}, compute, {@link #release}; in backward, the unit's
 * gradients are added into {@link #gradients} and then announced with {@link #gradientsDone}. Calls
 * come in the same order on every rank, which is what lets an implementation issue collectives from
 * them. The head runs its forward and backward in one go, so it is acquired once, for {@code BACKWARD};
 * with tied embeddings the head also acquires the embedding unit. The embedding's backward needs no
 * weights, so the embedding is not acquired for backward.
 */
public interface WeightAccess {
    /** What a unit's weights are acquired for. */
    enum Pass {
        /** A forward with no backward to follow (evaluation, generation). */
        INFERENCE,
        /** A training forward; the unit's backward follows later. */
        FORWARD,
        /** A backward (including the head's fused forward and backward). */
        BACKWARD
    }

    /** The unit's weights by Hugging Face name (any float dtype), valid until {@link #release}. */
    Map<String, Tensor> acquire(int unit, Pass pass);

    /** The caller is done with what {@link #acquire} returned for this pass. */
    void release(int unit, Pass pass);

    /** {@code body} on the unit's weights, acquired before it and released after it returns. */
    default <T> T run(int unit, Pass pass, Function<Map<String, Tensor>, T> body) {
        T result = body.apply(acquire(unit, pass));
        release(unit, pass);
        return result;
    }

    /** Buffers (same names) to add the unit's gradients into; the same buffers until {@link #gradientsDone}. */
    Map<String, Tensor> gradients(int unit);

    /** The unit's gradients for this backward are complete. */
    void gradientsDone(int unit);

    /** Whole-model tensors that are simply there: {@code grads} may be null for a model that only runs forward. */
    static WeightAccess of(Parameters params, Parameters grads) {
        List<Map<String, long[]>> units = ModelUnits.shapes(params.config());
        return new WeightAccess() {
            @Override
            public Map<String, Tensor> acquire(int unit, Pass pass) {
                return select(params, units.get(unit));
            }

            @Override
            public void release(int unit, Pass pass) {
            }

            @Override
            public Map<String, Tensor> gradients(int unit) {
                if (grads == null) throw new IllegalStateException("this model was given no gradient buffers");
                return select(grads, units.get(unit));
            }

            @Override
            public void gradientsDone(int unit) {
            }
        };
    }

    private static Map<String, Tensor> select(Parameters from, Map<String, long[]> names) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : names.keySet()) out.put(name, from.get(name));
        return out;
    }
}
