package dev.fullshard.tensor;

import dev.fullshard.tensor.Layers.AttentionKernel;

import java.util.Arrays;

/**
 * The argument checks the ops make before calling libtorch: mismatched shapes or dtypes in matrix
 * products and broadcasts, tensors on different devices, closed or read-only tensors. Each throws with
 * a message that starts with the op's name and shows the tensors involved, where libtorch's own message
 * would name neither.
 */
final class Checks {
    private Checks() {
    }

    static void writable(String op, Tensor... ts) {
        for (Tensor t : ts) t.writableHandle(op);
    }

    static void dim(String op, Tensor t, int dim) {
        int n = t.dim();
        if (dim < -n || dim >= Math.max(n, 1)) {
            throw new IndexOutOfBoundsException(op + ": dimension " + dim + " is out of range for " + t.describe());
        }
    }

    static void reshape(String op, Tensor t, long[] shape) {
        long known = 1;
        int inferred = 0;
        for (long s : shape) {
            if (s == -1) inferred++;
            else if (s < 0) throw new IllegalArgumentException(op + ": invalid size " + s + " in " + Arrays.toString(shape));
            else known *= s;
        }
        long n = t.numel();
        boolean fits = inferred == 0 ? known == n : inferred == 1 && known != 0 && n % known == 0;
        if (inferred > 1 || !fits) {
            throw new IllegalArgumentException(op + ": cannot make shape " + Arrays.toString(shape) + " from " + t.describe()
                    + " (" + n + " elements)");
        }
    }

    static void sameShape(String op, Tensor a, Tensor b) {
        if (!Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new IllegalArgumentException(op + ": shapes differ: " + a.describe() + " vs " + b.describe());
        }
    }

    static void product(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new IllegalArgumentException(op + ": dtypes differ: " + a.describe() + " · " + b.describe());
        Checks.sameDevice(op, a, b);
    }

    static void sameDevice(String op, Tensor... ts) {
        Device first = null;
        for (Tensor t : ts) {
            if (t.dim() == 0) continue; // 0-dim CPU tensors mix with any device, as in PyTorch
            Device d = t.device();
            if (first == null) first = d;
            else if (!first.equals(d)) throw new IllegalArgumentException(op + ": tensors on different devices: " + first + " and " + d);
        }
    }

    /** NumPy broadcasting: aligned from the right, each pair of sizes equal or one of them 1. */
    static void broadcast(String op, Tensor a, Tensor b) {
        long[] x = a.shapeRef(), y = b.shapeRef();
        for (int i = 1; i <= Math.min(x.length, y.length); i++) {
            long p = x[x.length - i], q = y[y.length - i];
            if (p != q && p != 1 && q != 1) {
                throw new IllegalArgumentException(op + ": shapes do not broadcast: " + a.describe() + " and " + b.describe());
            }
        }
        Checks.sameDevice(op, a, b);
    }

    static void broadcastTo(String op, Tensor source, long[] target) {
        long[] s = source.shapeRef();
        boolean ok = s.length <= target.length;
        for (int i = 1; ok && i <= s.length; i++) {
            long p = s[s.length - i];
            ok = p == 1 || p == target[target.length - i];
        }
        if (!ok) throw new IllegalArgumentException(op + ": " + source.describe() + " does not broadcast to " + Arrays.toString(target));
    }

    static void indices(String op, Tensor indices) {
        if (indices.dtype() != DType.I64 && indices.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": indices must be int64 or int32, got " + indices.describe());
        }
    }

    static void nll(Tensor logProbs, Tensor targets) {
        if (logProbs.dim() != 2 || targets.dim() != 1 || logProbs.size(0) != targets.size(0)) {
            throw new IllegalArgumentException("nll_loss needs log-probs (N, C) and targets (N), got "
                    + logProbs.describe() + " and " + targets.describe());
        }
        if (targets.dtype() != DType.I64) throw new IllegalArgumentException("nll_loss targets must be int64, got " + targets.describe());
    }

    static void attention(Tensor q, Tensor k, Tensor v, AttentionKernel kernel) {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) {
            throw new IllegalArgumentException("attention needs (B, H, L, E) tensors, got " + q.describe() + ", " + k.describe() + ", " + v.describe());
        }
        if (q.size(1) != k.size(1) || k.size(1) != v.size(1)) {
            throw new IllegalArgumentException("attention needs equal head counts (repeat KV heads first), got "
                    + q.describe() + ", " + k.describe() + ", " + v.describe());
        }
        Device device = q.device();
        boolean fits = switch (kernel) {
            case CPU_FLASH -> device.type() == Device.Type.CPU;
            case CUDA_FLASH -> device.type() == Device.Type.CUDA && (q.dtype() == DType.BF16 || q.dtype() == DType.F16);
            case MATH -> true;
        };
        if (!fits) throw new IllegalArgumentException("attention kernel " + kernel + " cannot run on " + q.describe());
    }
}
