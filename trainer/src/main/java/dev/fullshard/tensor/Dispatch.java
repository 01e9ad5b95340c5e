package dev.fullshard.tensor;

import dev.fullshard.bindings.LibStdCxx;
import dev.fullshard.bindings.NativeStderr;
import dev.fullshard.bindings.TorchStable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.StringJoiner;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One call of an ATen operator through {@code torch_call_dispatcher}, built argument by argument.
 *
 * <p>The rules of libtorch 2.10's boxed calling convention (see the ABI notes in docs/):
 * <ul>
 *   <li>every schema argument goes on the stack in schema order, defaults included (a call sets
 *       arguments up to the last one it needs; {@link Op} knows the schema and fills the rest);</li>
 *   <li>each value is a 64-bit StableIValue whose meaning the schema decides: a tensor is a handle,
 *       which the dispatcher consumes (so each slot gets a fresh {@link Tensor#newRef()}); a float is
 *       the bits of a double; a list is a StableListHandle;</li>
 *   <li>an optional holding a value is a pointer to an 8-byte cell from C++ {@code operator new},
 *       which libtorch frees; None is 0;</li>
 *   <li>returns come back in slots 0..n-1 and belong to the caller.</li>
 * </ul>
 * The inputs are checked (open, memory alive) before any handle is made, so a Java-side error
 * leaks nothing; a libtorch failure becomes a {@link TorchException} naming the operator, the
 * input shapes and libtorch's message.
 */
final class Dispatch {
    /** The schema version the stacks below are laid out for (TORCH_ABI_VERSION of 2.10.0). */
    private static final long SCHEMA_VERSION = (2L << 56) | (10L << 48);

    /**
     * An operator, made once from its full schema text: the name and overload as C strings, and per
     * argument whether it is optional and the stack value of its default where {@link OpSchema} can
     * encode one. A call may stop after the last argument it sets; the trailing defaults are filled in.
     */
    static final class Op {
        private final OpSchema schema;
        private final MemorySegment cName, cOverload;
        private final boolean[] optional, fillable;
        private final long[] defaults;
        private final String label;

        private Op(OpSchema schema) {
            this.schema = schema;
            this.label = schema.overload().isEmpty() ? schema.name() : schema.name() + "." + schema.overload();
            this.cName = Arena.global().allocateFrom(schema.name());
            this.cOverload = Arena.global().allocateFrom(schema.overload());
            int n = schema.args().size();
            if (n > Scratch.STACK_SLOTS) throw new IllegalArgumentException(this + ": more than " + Scratch.STACK_SLOTS + " arguments");
            optional = new boolean[n];
            fillable = new boolean[n];
            defaults = new long[n];
            for (int i = 0; i < n; i++) {
                OpSchema.Arg a = schema.args().get(i);
                optional[i] = a.optional();
                fillable[i] = a.fillable();
                defaults[i] = a.defaultValue();
            }
        }

        /** {@code schema}: as in native_functions.yaml, e.g. {@code "aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor"}. */
        static Op of(String schema) {
            return new Op(OpSchema.parse(schema));
        }

        int argumentCount() {
            return optional.length;
        }

        @Override
        public String toString() {
            return label;
        }

        private IllegalStateException misuse(String problem) {
            return new IllegalStateException(this + ": " + problem + "; schema arguments: " + schema.args().stream()
                    .map(a -> a.type() + " " + a.name()).toList());
        }
    }

    private final Op op;
    private final Tensor[] inputs;
    private final MemorySegment stack;
    private int slots;

    private Dispatch(Op op, Tensor[] inputs) {
        this.op = op;
        this.inputs = inputs;
        this.stack = Scratch.get().stack;
    }

    /** Starts a call; {@code inputs} are every tensor the call will pass (null for absent optionals). */
    static Dispatch call(Op op, Tensor... inputs) {
        for (Tensor t : inputs) if (t != null) t.handle();
        return new Dispatch(op, inputs);
    }

    /** Every tensor of {@code groups} in one array, for {@link #call} of an operator taking tensor lists. */
    static Tensor[] inputs(Tensor[]... groups) {
        return Arrays.stream(groups).flatMap(Arrays::stream).toArray(Tensor[]::new);
    }

    /**
     * Puts the next argument; its optionality must match the schema's, which catches a miscounted
     * {@code none()}. A call that fails here is a programming error, found by the first test that runs it.
     */
    private Dispatch push(long value, boolean optional) {
        if (slots == op.argumentCount()) throw op.misuse("more than " + op.argumentCount() + " arguments");
        if (op.optional[slots] != optional) {
            throw op.misuse("argument " + slots + " given as " + (optional ? "optional" : "required"));
        }
        stack.setAtIndex(JAVA_LONG, slots++, value);
        return this;
    }

    private Dispatch push(long value) {
        return push(value, false);
    }

    private Dispatch pushOptional(long value) {
        return push(value, true);
    }

    Dispatch tensor(Tensor t) {
        return push(t.newRef());
    }

    /** {@code Tensor?}. */
    Dispatch optTensor(Tensor t) {
        return pushOptional(t == null ? 0 : box(t.newRef()));
    }

    /** {@code Tensor[]}. */
    Dispatch tensors(Tensor... ts) {
        long list = newList(ts.length);
        for (Tensor t : ts) listAdd(list, t.newRef());
        return push(list);
    }

    /** {@code Tensor?[]}: null elements are None. */
    Dispatch optTensors(Tensor... ts) {
        long list = newList(ts.length);
        for (Tensor t : ts) listAdd(list, t == null ? 0 : box(t.newRef()));
        return push(list);
    }

    /** {@code int}, {@code SymInt}. */
    Dispatch i64(long v) {
        return push(v);
    }

    /** {@code int?}, {@code SymInt?}: null is None. */
    Dispatch optI64(Long v) {
        return pushOptional(v == null ? 0 : box(v));
    }

    /** {@code float}. */
    Dispatch f64(double v) {
        return push(Double.doubleToRawLongBits(v));
    }

    /** {@code float?}: null is None. */
    Dispatch optF64(Double v) {
        return pushOptional(v == null ? 0 : box(Double.doubleToRawLongBits(v)));
    }

    Dispatch bool(boolean v) {
        return push(v ? 1 : 0);
    }

    /** {@code int[]}, {@code SymInt[]}, {@code int[N]}. */
    Dispatch ints(long... values) {
        long list = newList(values.length);
        for (long v : values) listAdd(list, v);
        return push(list);
    }

    /** {@code int[]} from Java ints (dimension lists). */
    Dispatch ints(int... values) {
        long list = newList(values.length);
        for (int v : values) listAdd(list, v);
        return push(list);
    }

    /** {@code int[]?} given (None is never needed), from Java ints (dimension lists). */
    Dispatch optInts(int... values) {
        long list = newList(values.length);
        for (int v : values) listAdd(list, v);
        return pushOptional(box(list));
    }

    /** {@code bool[N]}. */
    Dispatch bools(boolean... values) {
        long list = newList(values.length);
        for (boolean v : values) listAdd(list, v ? 1 : 0);
        return push(list);
    }

    /** {@code ScalarType}. */
    Dispatch dtype(DType d) {
        return push(d.code() & 0xFFFF_FFFFL);
    }

    /** {@code ScalarType?}: null is None. */
    Dispatch optDtype(DType d) {
        return pushOptional(d == null ? 0 : box(d.code() & 0xFFFF_FFFFL));
    }

    /** {@code Device?}: the device type in the high 32 bits, the index (-1 for none) in the low ones. */
    Dispatch optDevice(Device d) {
        return pushOptional(d == null ? 0 : box(((long) d.typeCode() << 32) | (d.index() & 0xFFFF_FFFFL)));
    }

    /**
     * A {@code Tensor} argument that is undefined (C++ {@code at::Tensor()}), which some kernels take for
     * "not used" where the schema has no optional (flash attention's sequence offsets, for one).
     */
    Dispatch undefinedTensor() {
        MemorySegment cell = Scratch.get().cell;
        Tensor.check(TorchStable.aoti_torch_new_uninitialized_tensor(cell), "aoti_torch_new_uninitialized_tensor", "");
        return push(cell.get(JAVA_LONG, 0));
    }

    /**
     * An optional argument passed as None ({@code Scalar?}, {@code Layout?}, {@code Generator?}, ...) where a
     * later argument is set; trailing defaults need no call.
     */
    Dispatch none() {
        return pushOptional(0);
    }

    // ---------------------------------------------------------------- running

    /** Runs an operator that returns nothing (in-place ops on lists). */
    void run() {
        invoke(0);
    }

    /** Runs and adopts the single tensor returned. */
    Tensor returnTensor() {
        invoke(1);
        return Tensor.adopt(stack.getAtIndex(JAVA_LONG, 0));
    }

    /** Runs a view operator: the result shares storage (and any Java-owned memory) with {@code base}. */
    Tensor returnView(Tensor base) {
        invoke(1);
        return Tensor.adoptView(stack.getAtIndex(JAVA_LONG, 0), base);
    }

    /** Runs an in-place operator: the returned alias of the mutated input is released at once. */
    void runInPlace() {
        invoke(1);
        Tensor.check(TorchStable.aoti_torch_delete_tensor_object(MemorySegment.ofAddress(stack.getAtIndex(JAVA_LONG, 0))),
                "aoti_torch_delete_tensor_object", "");
    }

    /** Runs and adopts {@code n} returned tensors. */
    Tensor[] returnTensors(int n) {
        invoke(n);
        long[] handles = new long[n];
        for (int i = 0; i < n; i++) handles[i] = stack.getAtIndex(JAVA_LONG, i);
        Tensor[] out = new Tensor[n];
        for (int i = 0; i < n; i++) out[i] = Tensor.adopt(handles[i]);
        return out;
    }

    /**
     * Runs an operator whose {@code n} returns mix tensors and integers: tensors are adopted where
     * {@code keep} is true and released where it is false (undefined outputs included); the
     * integer returns are read from their stack slots.
     */
    Returns returnMixed(boolean[] keep, boolean[] isTensor) {
        int n = keep.length;
        invoke(n);
        long[] raw = new long[n];
        for (int i = 0; i < n; i++) raw[i] = stack.getAtIndex(JAVA_LONG, i);
        Tensor[] tensors = new Tensor[n];
        for (int i = 0; i < n; i++) {
            if (!isTensor[i]) continue;
            if (keep[i]) tensors[i] = Tensor.adopt(raw[i]);
            else Tensor.check(TorchStable.aoti_torch_delete_tensor_object(MemorySegment.ofAddress(raw[i])), "aoti_torch_delete_tensor_object", "");
        }
        return new Returns(tensors, raw);
    }

    /** What {@link #returnMixed} read: the kept tensors by position (null elsewhere) and every slot's raw value. */
    record Returns(Tensor[] tensors, long[] raw) {
    }

    /** Runs and adopts every tensor of the returned {@code Tensor[]}. */
    Tensor[] returnTensorList() {
        return returnList(null);
    }

    /** Runs an operator returning a list of views of {@code base} (they share its storage and any Java-owned memory). */
    Tensor[] returnViewList(Tensor base) {
        return returnList(base);
    }

    private Tensor[] returnList(Tensor viewBase) {
        invoke(1);
        MemorySegment list = MemorySegment.ofAddress(stack.getAtIndex(JAVA_LONG, 0));
        MemorySegment cell = Scratch.get().cell;
        Tensor[] out = new Tensor[0];
        try {
            Tensor.check(TorchStable.torch_list_size(list, cell), "torch_list_size", "");
            out = new Tensor[(int) cell.get(JAVA_LONG, 0)];
            for (int i = 0; i < out.length; i++) {
                Tensor.check(TorchStable.torch_list_get_item(list, i, cell), "torch_list_get_item", "");
                long handle = cell.get(JAVA_LONG, 0);
                out[i] = viewBase == null ? Tensor.adopt(handle) : Tensor.adoptView(handle, viewBase);
            }
            return out;
        } catch (RuntimeException e) {
            // Items not yet read stay in the list and leak with it; those adopted so far are released.
            for (Tensor t : out) if (t != null) t.close();
            throw e;
        } finally {
            TorchStable.torch_delete_list(list);
        }
    }

    /** Runs and returns a {@code bool} result. */
    boolean returnBool() {
        invoke(1);
        return (stack.getAtIndex(JAVA_LONG, 0) & 0xFF) != 0;
    }

    private void invoke(int returns) {
        if (returns > Scratch.STACK_SLOTS) throw new IllegalStateException(op + ": too many returns");
        for (int i = slots; i < op.argumentCount(); i++) {
            if (!op.fillable[i]) throw op.misuse("argument " + i + " has no default Dispatch can fill; pass it");
            stack.setAtIndex(JAVA_LONG, i, op.defaults[i]);
        }
        long start = OpProfile.ON ? System.nanoTime() : 0;
        int rc = TorchStable.torch_call_dispatcher(op.cName, op.cOverload, stack, SCHEMA_VERSION);
        if (OpProfile.ON) OpProfile.record(op.label, start);
        if (rc != 0) throw new TorchException(op.toString(), describeInputs(), NativeStderr.lastError());
    }

    private String describeInputs() {
        StringJoiner j = new StringJoiner(", ", "(", ")");
        for (Tensor t : inputs) j.add(t == null ? "None" : t.describe());
        return j.toString();
    }

    // ---------------------------------------------------------------- encodings

    /** An {@code operator new} cell holding {@code value}, for an optional argument. */
    private static long box(long value) {
        MemorySegment cell = LibStdCxx._Znwm(8).reinterpret(8);
        cell.set(JAVA_LONG, 0, value);
        return cell.address();
    }

    private static long newList(int capacity) {
        MemorySegment cell = Scratch.get().cell;
        Tensor.check(TorchStable.torch_new_list_reserve_size(capacity, cell), "torch_new_list_reserve_size", "");
        return cell.get(JAVA_LONG, 0);
    }

    private static void listAdd(long list, long value) {
        Tensor.check(TorchStable.torch_list_push_back(MemorySegment.ofAddress(list), value), "torch_list_push_back", "");
    }
}
