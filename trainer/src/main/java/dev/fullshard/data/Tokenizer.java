package dev.fullshard.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.bindings.TorchLibrary;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A Hugging Face {@code tokenizer.json}, through the tokenizers library (DJL's binding, whose jar
 * carries the native code). Encodes exactly the text it is given: no truncation, no padding and no
 * special tokens unless asked for, so that the trainer decides where BOS and EOS go.
 */
public final class Tokenizer implements TextEncoder, AutoCloseable {
    /** The tokenizer fullshard ships (Mistral-7B's 32k vocabulary; see its SOURCE.md). */
    public static final String BUNDLED = "mistral-32k";
    /** The Hugging Face file next to tokenizer.json that names the special tokens. */
    public static final String CONFIG_FILE = "tokenizer_config.json";
    private static final List<String> BUNDLED_FILES = List.of("tokenizer.json", CONFIG_FILE);

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private TokenBytes bytes;

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /** Loads {@code tokenizer.json} from a file or from a model directory holding one. */
    public static Tokenizer load(Path fileOrDirectory) {
        Path file = Files.isDirectory(fileOrDirectory) ? fileOrDirectory.resolve("tokenizer.json") : fileOrDirectory;
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no tokenizer at " + file + ": expected a Hugging Face tokenizer.json");
        }
        configureNativeCache();
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(file)
                    .optTruncation(false).optPadding(false).optAddSpecialTokens(false).build();
            return new Tokenizer(t, file);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("could not load the tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** Copies the bundled tokenizer files into {@code directory} (e.g. a new model directory). */
    public static void writeBundled(Path directory) {
        for (String name : BUNDLED_FILES) {
            try (InputStream in = Tokenizer.class.getResourceAsStream("/dev/fullshard/tokenizers/" + BUNDLED + "/" + name)) {
                if (in == null) throw new IllegalStateException("bundled tokenizer file " + name + " missing from the jar");
                Files.copy(in, directory.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException("could not write " + directory.resolve(name), e);
            }
        }
    }

    /** The files of a Hugging Face tokenizer that a model directory carries (the chat template among them), those present copied from {@code from} to {@code to}. */
    public static void copyFiles(Path from, Path to) {
        for (String name : List.of("tokenizer.json", CONFIG_FILE, "special_tokens_map.json", "tokenizer.model", JinjaChatTemplate.TEMPLATE_FILE)) {
            if (!Files.isRegularFile(from.resolve(name))) continue;
            try {
                Files.copy(from.resolve(name), to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException("could not copy " + from.resolve(name) + " to " + to, e);
            }
        }
    }

    /** One more than the highest token id, added tokens included: the smallest vocab_size a model needs. */
    public int idCount() {
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            long highest = -1;
            JsonNode vocab = root.path("model").path("vocab");
            if (vocab.isObject()) for (JsonNode id : vocab) highest = Math.max(highest, id.asLong());
            else if (vocab.isArray()) highest = vocab.size() - 1; // Unigram: a list of [piece, score]
            for (JsonNode added : root.path("added_tokens")) highest = Math.max(highest, added.path("id").asLong());
            if (highest < 0) throw new IllegalArgumentException(file + ": no vocabulary in model.vocab");
            return Math.toIntExact(highest + 1);
        } catch (IOException e) {
            throw new IllegalArgumentException("could not read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}, with no special tokens added. */
    @Override
    public long[] encode(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    /** The text of {@code ids} on its own, decoded strictly (see {@link TokenText}): for showing what a model wrote. */
    public String text(long[] ids) {
        return TokenText.of(bytes(), ids);
    }

    /** A decoder for tokens as they are generated, one at a time. */
    public TokenText textStream() {
        return new TokenText(bytes());
    }

    private TokenBytes bytes() {
        if (bytes == null) bytes = TokenBytes.load(file, id -> tokenizer.decode(new long[]{id}, true));
        return bytes;
    }

    /** The id of a token such as "</s>", or -1 when the vocabulary has no such token. */
    @Override
    public long tokenId(String token) {
        long[] ids = tokenizer.encode(token, false, false).getIds();
        return ids.length == 1 && tokenizer.decode(ids, false).equals(token) ? ids[0] : -1;
    }

    /**
     * The token this tokenizer itself puts in front of a text when asked for special tokens (Llama's and
     * Mistral's {@code <s>}, Llama 3's {@code <|begin_of_text|>}), or -1 when it adds none (Qwen):
     * examples start the way the model saw text in pre-training.
     */
    @Override
    public long bosId() {
        long[] plain = tokenizer.encode("a", false, false).getIds(), special = tokenizer.encode("a", true, false).getIds();
        return special.length > plain.length && special[0] != plain[0] ? special[0] : -1;
    }

    /**
     * The {@code eos_token} of {@code tokenizer_config.json} (a string, or an object with {@code content}),
     * as Hugging Face's trainers end examples with; {@code </s>} when the file does not say.
     */
    @Override
    public long eosId() {
        Path config = file.resolveSibling(CONFIG_FILE);
        if (Files.isRegularFile(config)) {
            try {
                JsonNode eos = new ObjectMapper().readTree(config.toFile()).path("eos_token");
                String token = eos.isTextual() ? eos.asText() : eos.path("content").asText(null);
                if (token != null && !token.isEmpty()) {
                    long id = tokenId(token);
                    if (id < 0) throw new IllegalArgumentException(config + ": eos_token " + token + " is not a single token of " + file);
                    return id;
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("could not read " + config + ": " + e.getMessage(), e);
            }
        }
        return tokenId("</s>");
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    /**
     * DJL extracts its native library under {@code DJL_CACHE_DIR} (default ~/.djl.ai); keep it next to
     * fullshard's own cache, and never let DJL try the network.
     */
    private static void configureNativeCache() {
        if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
            System.setProperty("DJL_CACHE_DIR", TorchLibrary.cacheRoot().resolve("djl").toString());
        }
        System.setProperty("ai.djl.offline", "true");
    }
}
