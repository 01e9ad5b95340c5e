package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;

/**
 * Matrix products.
 * Each op's ATen schema (libtorch 2.10) is written once, in the {@code Op} above the method that calls it,
 * and tells {@link Dispatch} the arguments and their defaults. Results are new tensors owned by the caller
 * (or the open {@link TensorScope}); inputs are only borrowed. Common mistakes are caught by {@link Checks}
 * before libtorch is called.
 */
public final class Matmul {
    private Matmul() {
    }

    private static final Op MM = Op.of("aten::mm(Tensor self, Tensor mat2) -> Tensor");
    /** (n,k)·(k,m) → (n,m). */
    public static Tensor mm(Tensor a, Tensor b) {
        Checks.product("mm", a, b);
        if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0)) {
            throw new IllegalArgumentException("mm needs (n,k)·(k,m), got " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(MM, a, b).tensor(a).tensor(b).returnTensor();
    }

    private static final Op BMM = Op.of("aten::bmm(Tensor self, Tensor mat2) -> Tensor");
    /** (b,n,k)·(b,k,m) → (b,n,m). */
    public static Tensor bmm(Tensor a, Tensor b) {
        Checks.product("bmm", a, b);
        if (a.dim() != 3 || b.dim() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
            throw new IllegalArgumentException("bmm needs (b,n,k)·(b,k,m), got " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(BMM, a, b).tensor(a).tensor(b).returnTensor();
    }

    private static final Op MATMUL = Op.of("aten::matmul(Tensor self, Tensor other) -> Tensor");
    /** NumPy-style product with batch broadcasting. */
    public static Tensor matmul(Tensor a, Tensor b) {
        Checks.product("matmul", a, b);
        long inner = b.dim() == 1 ? b.size(0) : b.size(-2);
        if (a.dim() == 0 || b.dim() == 0 || a.size(-1) != inner) {
            throw new IllegalArgumentException("matmul inner dimensions differ: " + a.describe() + " · " + b.describe());
        }
        return Dispatch.call(MATMUL, a, b).tensor(a).tensor(b).returnTensor();
    }
}
