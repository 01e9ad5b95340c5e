package dev.fullshard.tensor;

import dev.fullshard.tensor.Dispatch.Op;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The schema text of an operator decides how many arguments a {@link Dispatch} call takes, which
 * are optional, and which trailing defaults it fills in; a call that disagrees fails before libtorch
 * is called.
 */
class DispatchSchemaTest {
    @Test
    void parsesArgumentsOptionalityAndDefaults() {
        OpSchema s = OpSchema.parse("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, "
                + "SymInt step=1) -> Tensor(a)");
        assertThat(s.name()).isEqualTo("aten::slice");
        assertThat(s.overload()).isEqualTo("Tensor");
        assertThat(s.args()).extracting(OpSchema.Arg::name).containsExactly("self", "dim", "start", "end", "step");
        assertThat(s.args()).extracting(OpSchema.Arg::optional).containsExactly(false, false, true, true, false);
        assertThat(s.args()).extracting(OpSchema.Arg::fillable).containsExactly(false, true, true, true, true);
        assertThat(s.args()).extracting(OpSchema.Arg::defaultValue).containsExactly(0L, 0L, 0L, 0L, 1L);
    }

    @Test
    void keywordMarkerAliasesAndListsDoNotCountAsArguments() {
        OpSchema s = OpSchema.parse("aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]");
        assertThat(s.args()).extracting(OpSchema.Arg::type).containsExactly("Tensor(a -> *)", "int");
        OpSchema amax = OpSchema.parse("aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor");
        assertThat(amax.args()).extracting(OpSchema.Arg::fillable).containsExactly(false, false, true);
        OpSchema flash = OpSchema.parse("aten::f(Tensor q, float dropout_p=0.5, bool is_causal=True, *, float? scale=None, "
                + "MemoryFormat memory_format=contiguous_format) -> (Tensor output, Tensor logsumexp)");
        assertThat(flash.args()).extracting(OpSchema.Arg::name).containsExactly("q", "dropout_p", "is_causal", "scale", "memory_format");
        assertThat(flash.args()).extracting(OpSchema.Arg::defaultValue).containsExactly(0L, Double.doubleToRawLongBits(0.5), 1L, 0L, 0L);
        assertThat(flash.args()).extracting(OpSchema.Arg::fillable).containsExactly(false, true, true, true, false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"aten::view", "view(Tensor self) -> Tensor", "aten::f(Tensor) -> Tensor"})
    void malformedSchemasAreRejected(String schema) {
        assertThatThrownBy(() -> Op.of(schema)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(schema);
    }

    @Test
    void moreArgumentsThanTheSchemaHasFail() {
        Op op = Op.of("aten::f(int a, int? b=None) -> Tensor");
        assertThatThrownBy(() -> Dispatch.call(op).i64(1).none().i64(3)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("aten::f: more than 2 arguments").hasMessageContaining("int a");
    }

    @Test
    void aNoneWhereTheSchemaWantsAValueFails() {
        Op op = Op.of("aten::f(int a, int? b=None, int c=2) -> Tensor");
        assertThatThrownBy(() -> Dispatch.call(op).none()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("argument 0 given as optional");
        assertThatThrownBy(() -> Dispatch.call(op).i64(1).i64(2)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("argument 1 given as required");
    }

    @Test
    void fewerArgumentsFailWhereAMissingOneHasNoDefault() {
        Op op = Op.of("aten::f(int a, int b, bool c=False) -> Tensor");
        assertThatThrownBy(() -> Dispatch.call(op).i64(1).returnTensor()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("argument 1 has no default");
    }

    @Test
    void trailingDefaultsAreFilledIn() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor t = Tensor.of(new double[]{1, 2, 3, 4, 5, 6}, 2, 3);
            Op slice = Op.of("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, "
                    + "SymInt step=1) -> Tensor(a)");
            // Only self is given: dim 0, the whole range, step 1.
            Tensor whole = Dispatch.call(slice, t).tensor(t).returnView(t);
            assertThat(whole.shape()).containsExactly(2, 3);
            Tensor row = Dispatch.call(slice, t).tensor(t).i64(0).optI64(1L).returnView(t);
            assertThat(row.shape()).containsExactly(1, 3);
            assertThat(row.toDoubleArray()).containsExactly(4, 5, 6);
        }
    }

    /** Every op class parses its schemas when it is first used; this loads each one. */
    @ParameterizedTest
    @ValueSource(classes = {Views.class, Copies.class, Elementwise.class, InPlace.class, Reductions.class, Matmul.class,
            Layers.class, OptimizerKernels.class})
    void everyOpOfTheOpClassesHasAWellFormedSchema(Class<?> opClass) throws IllegalAccessException {
        int ops = 0;
        for (Field f : opClass.getDeclaredFields()) {
            if (f.getType() != Op.class || !Modifier.isStatic(f.getModifiers())) continue;
            f.setAccessible(true);
            Op op = (Op) f.get(null);
            assertThat(op.argumentCount()).as(f.getName()).isPositive();
            ops++;
        }
        assertThat(ops).isPositive();
    }
}
