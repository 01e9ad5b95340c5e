package dev.fullshard.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The C declarations in {@code native-headers/*.h} are the source of truth; the binding classes must
 * mirror them one to one: a {@code NAME$DESC} field equal to the descriptor the declaration implies,
 * a public static method {@code NAME} with the matching Java signature, in the header's order, and
 * the symbol must resolve in the library the class binds to. Every failure names the function.
 *
 * <p>The CUDA bindings are checked on any machine: reading their descriptors loads nothing. Their
 * symbols are checked in the libraries fullshard bound when CUDA is available, else in a copy the
 * system loader finds (a CUDA toolkit without a GPU has libcudart), else not at all.
 */
class BindingsMatchHeadersTest {
    /**
     * A header and the class that binds it, with the library its downcalls resolve symbols in; for a
     * CUDA library, the sonames to check instead when CUDA is not available (null for the others).
     */
    record Binding(String header, Class<?> bindingClass, Supplier<NativeLibrary> library, List<String> cudaSonames) {
    }

    private static final Map<String, Binding> BINDINGS = Map.of(
            "torch_stable.h", new Binding("torch_stable.h", TorchStable.class, TorchStable::library, null),
            "libstdcxx.h", new Binding("libstdcxx.h", LibStdCxx.class, LibStdCxx::library, null),
            "libc.h", new Binding("libc.h", LibC.class, LibC::library, null),
            "openblas.h", new Binding("openblas.h", OpenBlas.class, OpenBlas::library, null),
            "mpi.h", new Binding("mpi.h", Mpi.class, Mpi::library, null),
            "cuda_runtime.h", new Binding("cuda_runtime.h", CudaRuntime.class, CudaRuntime::library, CudaLibraries.CUDART),
            "cublas.h", new Binding("cublas.h", Cublas.class, Cublas::library, CudaLibraries.CUBLAS),
            "nccl.h", new Binding("nccl.h", Nccl.class, Nccl::library, CudaLibraries.NCCL),
            "torch_cuda.h", new Binding("torch_cuda.h", TorchCuda.class, TorchCuda::library, List.of()));

    /** ncclUniqueId, {@code struct { char internal[128]; }}, passed by value. */
    private static final MemoryLayout NCCL_UNIQUE_ID = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(128, JAVA_BYTE).withName("internal")).withName("ncclUniqueId");

    /** C types (after typedefs) to the layouts FFM passes them as; anything with a '*' is ADDRESS. */
    private static final Map<String, MemoryLayout> C_TYPES = Map.ofEntries(
            Map.entry("int32_t", JAVA_INT), Map.entry("int", JAVA_INT), Map.entry("AOTITorchError", JAVA_INT),
            Map.entry("uint32_t", JAVA_INT),
            Map.entry("int64_t", JAVA_LONG), Map.entry("uint64_t", JAVA_LONG), Map.entry("size_t", JAVA_LONG),
            Map.entry("StableIValue", JAVA_LONG),
            Map.entry("double", JAVA_DOUBLE), Map.entry("float", JAVA_FLOAT), Map.entry("bool", JAVA_BOOLEAN),
            Map.entry("AtenTensorHandle", ADDRESS), Map.entry("StableListHandle", ADDRESS),
            Map.entry("MPI_Comm", JAVA_INT), Map.entry("MPI_Datatype", JAVA_INT), Map.entry("MPI_Op", JAVA_INT),
            Map.entry("MPI_Request", JAVA_INT),
            Map.entry("unsigned int", JAVA_INT),
            // CUDA, cuBLAS and NCCL enums are int-sized; their handles are pointers
            Map.entry("cudaError_t", JAVA_INT), Map.entry("cudaDeviceAttr", JAVA_INT), Map.entry("cudaMemcpyKind", JAVA_INT), Map.entry("cublasStatus_t", JAVA_INT),
            Map.entry("cublasOperation_t", JAVA_INT), Map.entry("cudaDataType_t", JAVA_INT), Map.entry("cublasComputeType_t", JAVA_INT),
            Map.entry("cublasGemmAlgo_t", JAVA_INT), Map.entry("ncclResult_t", JAVA_INT), Map.entry("ncclDataType_t", JAVA_INT),
            Map.entry("ncclRedOp_t", JAVA_INT),
            Map.entry("cudaStream_t", ADDRESS), Map.entry("cudaEvent_t", ADDRESS), Map.entry("cublasHandle_t", ADDRESS),
            Map.entry("ncclComm_t", ADDRESS), Map.entry("CUDAGuardHandle", ADDRESS),
            Map.entry("ncclUniqueId", NCCL_UNIQUE_ID));

    /** One function declaration: its name, the declaration text (for messages) and the implied descriptor. */
    record CFunction(String name, String declaration, FunctionDescriptor descriptor) {
    }

    // ------------------------------------------------------------------ the checks, per header

    static Stream<String> headers() throws IOException {
        try (Stream<Path> files = Files.list(headersDir())) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".h")).sorted().toList().stream();
        }
    }

    @Test
    void everyHeaderHasABindingClassAndEveryBindingClassAHeader() throws IOException {
        List<String> headers = headers().toList();
        assertThat(headers).as("headers in " + headersDir()).containsExactlyInAnyOrderElementsOf(BINDINGS.keySet());
    }

    @ParameterizedTest
    @MethodSource("headers")
    void descriptorsEqualTheDeclarations(String header) throws IOException {
        Binding b = binding(header);
        List<CFunction> declared = parse(Files.readString(headersDir().resolve(header)), header);
        assertThat(declared).as("functions parsed from " + header).isNotEmpty();
        assertNoProblems(header, descriptorProblems(declared, b.bindingClass(), header));
    }

    @ParameterizedTest
    @MethodSource("headers")
    void descriptorsAreInTheHeadersOrder(String header) throws IOException {
        Binding b = binding(header);
        List<String> declared = parse(Files.readString(headersDir().resolve(header)), header).stream().map(CFunction::name).toList();
        // getDeclaredFields lists fields in source order on HotSpot; compare only names present on both sides
        // (missing or extra ones are reported by descriptorsEqualTheDeclarations).
        List<String> fields = descFields(b.bindingClass()).keySet().stream().filter(declared::contains).toList();
        List<String> headerOrder = declared.stream().filter(fields::contains).toList();
        assertThat(fields).as(b.bindingClass().getSimpleName() + " $DESC fields in the order of " + header)
                .containsExactlyElementsOf(headerOrder);
    }

    @ParameterizedTest
    @MethodSource("headers")
    void eachFunctionHasAPublicStaticMethodWithTheDescriptorsJavaSignature(String header) throws IOException {
        Binding b = binding(header);
        List<CFunction> declared = parse(Files.readString(headersDir().resolve(header)), header);
        assertNoProblems(header, methodProblems(declared, b.bindingClass()));
    }

    @ParameterizedTest
    @MethodSource("headers")
    void everySymbolResolvesInTheBoundLibrary(String header) throws IOException {
        Binding b = binding(header);
        TorchLibrary.load();
        if (header.equals("mpi.h")) {
            assumeTrue(MpiLibrary.isAvailable(),
                    "MPICH is not installed (apt-get install mpich; .ci/install-test-deps does it): mpi.h symbols not checked");
        }
        if (header.equals("openblas.h")) {
            assumeTrue(OpenBlas.isLoaded(), "the loaded libtorch carries no OpenBLAS (only the bundled build does): openblas.h symbols not checked");
        }
        NativeLibrary lib = b.cudaSonames() == null || CudaLibraries.available() ? b.library().get() : systemCopy(b.cudaSonames());
        assumeTrue(lib != null, "CUDA is not available and no " + b.cudaSonames() + " is on the loader path: " + header
                + " symbols not checked");
        List<String> problems = new ArrayList<>();
        for (CFunction f : parse(Files.readString(headersDir().resolve(header)), header)) {
            if (lib.find(f.name()).isEmpty()) {
                problems.add(f.name() + ": symbol not found in " + lib.name() + " (declared in " + header + " as `" + f.declaration() + "`)");
            }
        }
        assertNoProblems(header, problems);
    }

    /** The first of {@code sonames} the system loader finds, or null. */
    private static NativeLibrary systemCopy(List<String> sonames) {
        for (String soname : sonames) {
            try {
                return new NativeLibrary(soname, SymbolLookup.libraryLookup(soname, Arena.global()));
            } catch (IllegalArgumentException e) {
                // not on the loader path
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ the checker checks itself

    @Test
    void parserHandlesCommentsTypedefsPreprocessorLinesAndEveryTypeForm() {
        String text = """
                /* a block comment; with a semicolon */
                #include <stdint.h>
                #define NOT_A_FUNCTION(x) (x);
                typedef int32_t AOTITorchError;
                typedef struct AtenTensorOpaque* AtenTensorHandle;
                // a line comment with a fake declaration: int nope(void);
                AOTITorchError f_multi(int64_t n, const int64_t* sizes,
                                       AtenTensorHandle* ret);   /* trailing comment */
                void* f_ptr_return(size_t size);
                void f_void(bool enabled);
                bool f_no_args(void);
                uint64_t f_empty_parens();
                int f_unnamed(int, double, float);
                AOTITorchError f_struct(struct Foo* p, StableIValue v, uint32_t* n, StableListHandle l);
                typedef struct { char internal[128]; } ncclUniqueId;
                int f_by_value(ncclUniqueId id, unsigned int flags, const char* text);
                """;
        List<CFunction> fns = parse(text, "test.h");
        Map<String, FunctionDescriptor> byName = new LinkedHashMap<>();
        for (CFunction f : fns) byName.put(f.name(), f.descriptor());
        assertThat(byName).containsExactly(
                Map.entry("f_multi", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS)),
                Map.entry("f_ptr_return", FunctionDescriptor.of(ADDRESS, JAVA_LONG)),
                Map.entry("f_void", FunctionDescriptor.ofVoid(JAVA_BOOLEAN)),
                Map.entry("f_no_args", FunctionDescriptor.of(JAVA_BOOLEAN)),
                Map.entry("f_empty_parens", FunctionDescriptor.of(JAVA_LONG)),
                Map.entry("f_unnamed", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_DOUBLE, JAVA_FLOAT)),
                Map.entry("f_struct", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS)),
                Map.entry("f_by_value", FunctionDescriptor.of(JAVA_INT, NCCL_UNIQUE_ID, JAVA_INT, ADDRESS)));
    }

    @Test
    void parserRejectsUnknownTypesNamingTheFunction() {
        assertThatThrownBy(() -> parse("long double f_weird(long double x);", "test.h"))
                .isInstanceOf(AssertionError.class).hasMessageContaining("f_weird").hasMessageContaining("long double");
    }

    @Test
    void mismatchesAreReportedByFunctionName() {
        // libc.h as the binding has it, but with dup2 changed, close removed and a function added.
        String altered = """
                int setenv(const char* name, const char* value, int overwrite);
                int dup(int fd);
                int dup2(int fd, int64_t target);
                int mkstemp(char* path_template);
                int not_bound(void);
                """;
        List<CFunction> declared = parse(altered, "libc.h");
        List<String> problems = descriptorProblems(declared, LibC.class, "libc.h");
        assertThat(problems).hasSize(3);
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("dup2:").contains("JAVA_LONG").contains("int64_t target"));
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("not_bound:").contains("no field"));
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("close:").contains("not declared"));
        assertThat(methodProblems(declared, LibC.class)).anySatisfy(p -> assertThat(p).startsWith("dup2:"))
                .anySatisfy(p -> assertThat(p).startsWith("not_bound:"));
    }

    // ------------------------------------------------------------------ comparison

    private static List<String> descriptorProblems(List<CFunction> declared, Class<?> cls, String header) {
        List<String> problems = new ArrayList<>();
        Map<String, Field> fields = descFields(cls);
        for (CFunction f : declared) {
            Field field = fields.get(f.name());
            if (field == null) {
                problems.add(f.name() + ": declared in " + header + " as `" + f.declaration() + "` but " + cls.getSimpleName()
                        + " has no field " + f.name() + "$DESC");
                continue;
            }
            int mods = field.getModifiers();
            if (!Modifier.isPublic(mods) || !Modifier.isStatic(mods) || !Modifier.isFinal(mods)
                    || field.getType() != FunctionDescriptor.class) {
                problems.add(f.name() + ": " + cls.getSimpleName() + "." + field.getName() + " must be a public static final FunctionDescriptor");
                continue;
            }
            FunctionDescriptor actual;
            try {
                actual = (FunctionDescriptor) field.get(null);
            } catch (IllegalAccessException e) {
                throw new AssertionError(e);
            }
            if (!f.descriptor().equals(actual)) {
                problems.add(f.name() + ": " + cls.getSimpleName() + "." + f.name() + "$DESC is " + show(actual) + " but `"
                        + f.declaration() + "` in " + header + " means " + show(f.descriptor()));
            }
        }
        for (String name : fields.keySet()) {
            if (declared.stream().noneMatch(f -> f.name().equals(name))) {
                problems.add(name + ": " + cls.getSimpleName() + "." + name + "$DESC exists but " + name + " is not declared in " + header);
            }
        }
        return problems;
    }

    private static List<String> methodProblems(List<CFunction> declared, Class<?> cls) {
        List<String> problems = new ArrayList<>();
        for (CFunction f : declared) {
            MethodType expected = f.descriptor().toMethodType();
            List<Method> candidates = Arrays.stream(cls.getDeclaredMethods()).filter(m -> m.getName().equals(f.name())).toList();
            if (candidates.size() != 1) {
                problems.add(f.name() + ": " + cls.getSimpleName() + " has " + candidates.size() + " methods named " + f.name() + ", expected 1");
                continue;
            }
            Method m = candidates.getFirst();
            int mods = m.getModifiers();
            if (!Modifier.isPublic(mods) || !Modifier.isStatic(mods)) {
                problems.add(f.name() + ": " + cls.getSimpleName() + "." + f.name() + " must be public static");
            }
            MethodType actual = MethodType.methodType(m.getReturnType(), m.getParameterTypes());
            if (m.getParameterCount() != expected.parameterCount()) {
                problems.add(f.name() + ": " + cls.getSimpleName() + "." + f.name() + " takes " + m.getParameterCount()
                        + " parameters but `" + f.declaration() + "` has " + expected.parameterCount());
            } else if (!actual.equals(expected)) {
                problems.add(f.name() + ": " + cls.getSimpleName() + "." + f.name() + " has Java signature " + actual
                        + " but `" + f.declaration() + "` needs " + expected);
            }
        }
        return problems;
    }

    /** {@code NAME -> field} for every field named {@code NAME$DESC}, in declaration order. */
    private static Map<String, Field> descFields(Class<?> cls) {
        Map<String, Field> out = new LinkedHashMap<>();
        for (Field f : cls.getDeclaredFields()) {
            if (f.getName().endsWith("$DESC")) out.put(f.getName().substring(0, f.getName().length() - "$DESC".length()), f);
        }
        return out;
    }

    private static void assertNoProblems(String header, List<String> problems) {
        if (!problems.isEmpty()) {
            throw new AssertionError(problems.size() + " binding(s) disagree with " + header + ":\n  " + String.join("\n  ", problems));
        }
    }

    private static String show(FunctionDescriptor d) {
        return d.returnLayout().map(BindingsMatchHeadersTest::show).orElse("void") + "("
                + String.join(", ", d.argumentLayouts().stream().map(BindingsMatchHeadersTest::show).toList()) + ")";
    }

    private static String show(MemoryLayout l) {
        if (l.equals(JAVA_INT)) return "JAVA_INT";
        if (l.equals(JAVA_LONG)) return "JAVA_LONG";
        if (l.equals(JAVA_DOUBLE)) return "JAVA_DOUBLE";
        if (l.equals(JAVA_FLOAT)) return "JAVA_FLOAT";
        if (l.equals(JAVA_BOOLEAN)) return "JAVA_BOOLEAN";
        if (l.equals(ADDRESS)) return "ADDRESS";
        return l.toString();
    }

    // ------------------------------------------------------------------ parsing

    private static final Pattern BLOCK_COMMENT = Pattern.compile("/\\*.*?\\*/", Pattern.DOTALL);
    private static final Pattern LINE_COMMENT = Pattern.compile("//[^\\n]*");
    private static final Pattern PREPROCESSOR = Pattern.compile("(?m)^\\s*#.*$");
    /** A struct body in a typedef: its ';'s are not declarations. */
    private static final Pattern BRACES = Pattern.compile("\\{[^{}]*\\}");
    /** return type, name, parameter list; the return type ends in whitespace or '*'. */
    private static final Pattern FUNCTION = Pattern.compile("^(.*[\\s*])(\\w+)\\s*\\(([^()]*)\\)$");

    static List<CFunction> parse(String text, String header) {
        String code = BLOCK_COMMENT.matcher(text).replaceAll(" ");
        code = LINE_COMMENT.matcher(code).replaceAll(" ");
        code = PREPROCESSOR.matcher(code).replaceAll(" ");
        code = BRACES.matcher(code).replaceAll(" ");
        List<CFunction> out = new ArrayList<>();
        for (String chunk : code.split(";")) {
            String decl = chunk.replaceAll("\\s+", " ").strip();
            if (decl.isEmpty() || decl.startsWith("typedef ")) continue;
            Matcher m = FUNCTION.matcher(decl);
            if (!m.matches()) throw new AssertionError(header + ": cannot parse `" + decl + "` as a function declaration");
            String name = m.group(2);
            String returnType = m.group(1).strip();
            Optional<MemoryLayout> ret = returnType.equals("void") ? Optional.empty() : Optional.of(layout(returnType, false, name, decl));
            List<MemoryLayout> args = new ArrayList<>();
            String params = m.group(3).strip();
            if (!params.isEmpty() && !params.equals("void")) {
                for (String p : params.split(",")) args.add(layout(p.strip(), true, name, decl));
            }
            MemoryLayout[] a = args.toArray(MemoryLayout[]::new);
            out.add(new CFunction(name, decl, ret.map(r -> FunctionDescriptor.of(r, a)).orElseGet(() -> FunctionDescriptor.ofVoid(a))));
        }
        return out;
    }

    /** The layout of a return type or a parameter ("const int64_t* sizes", "int fd", "int"). */
    private static MemoryLayout layout(String text, boolean parameter, String function, String decl) {
        if (text.contains("*")) return ADDRESS;
        List<String> words = new ArrayList<>(Arrays.asList(text.split("\\s+")));
        words.removeIf(w -> w.equals("const") || w.equals("volatile") || w.equals("struct"));
        // a named parameter: the last word is its name, unless the rest would be empty
        if (parameter && words.size() > 1) words.removeLast();
        String type = String.join(" ", words);
        MemoryLayout l = C_TYPES.get(type);
        if (l == null) {
            throw new AssertionError(function + ": C type `" + type + "` in `" + decl + "` has no layout mapping in this test");
        }
        return l;
    }

    private static Binding binding(String header) {
        Binding b = BINDINGS.get(header);
        if (b == null) throw new AssertionError("no binding class is registered for " + header);
        return b;
    }

    private static Path headersDir() {
        String dir = System.getProperty("fullshard.headers.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "native-headers");
        if (!Files.isDirectory(p)) throw new AssertionError("headers folder " + p.toAbsolutePath() + " not found (system property fullshard.headers.dir)");
        return p;
    }
}
