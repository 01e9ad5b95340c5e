package dev.fullshard.model;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Ops;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

/** Token embedding: row {@code tokens[b,t]} of the table W. */
public final class Embedding {
    private Embedding() {
    }

    /**
     * tokens (B,T) int64, weight (V,D) of any float dtype -> (B·T, D) in {@code dtype}.
     * Gathers first and converts the N gathered rows, not the V-row table.
     */
    public static Tensor forward(Tensor tokens, Tensor weight, DType dtype) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor flat = tokens.reshape(-1);                                   // (N)
            Tensor rows = Ops.embedding(weight, flat);                          // (N, D)
            return scope.keep(rows.dtype() == dtype ? rows : rows.to(dtype));
        }
    }

    /**
     * grad (N,D), tokens (B,T): dW[tokens[n]] += grad[n] for every n, repeated tokens adding up, straight into
     * the caller's buffer dW (V,D): only the N touched rows are written, no (V,D) temporary.
     */
    public static void backward(Tensor grad, Tensor tokens, Tensor dWeight) {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor flat = tokens.reshape(-1);                                   // (N)
            Tensor g = grad.dtype() == dWeight.dtype() ? grad : grad.to(dWeight.dtype());
            Ops.indexPut(dWeight, new Tensor[]{flat}, g, true);
        }
    }
}
