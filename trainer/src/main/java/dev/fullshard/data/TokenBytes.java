package dev.fullshard.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bytes each token id stands for, read from a {@code tokenizer.json}. A token can be part of a
 * character (a byte-fallback token such as {@code <0xE9>}, or one of GPT-2's byte symbols), so text is
 * only text once the bytes of several tokens are joined: {@link TokenText} does that, instead of the
 * tokenizer's own decoder, which turns every unfinished or invalid byte into U+FFFD.
 *
 * <p>Two decoder families cover the decoder LLMs: SentencePiece-style vocabularies (Llama 2, Mistral:
 * {@code ▁} is a space, {@code <0xNN>} one byte, one leading space stripped) and byte-level BPE (GPT-2,
 * Llama 3, Qwen: each character of a token maps to one byte). For any other decoder a token's bytes are
 * the tokenizer's own decoding of that token alone. Special tokens ({@code <s>}, {@code </s>}) stand for
 * no text, as with {@code skip_special_tokens}.
 */
public final class TokenBytes {
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x([0-9A-Fa-f]{2})>");
    private static final byte[] NONE = new byte[0];

    private final byte[][] bytes;
    private final boolean stripsLeadingSpace;

    private TokenBytes(byte[][] bytes, boolean stripsLeadingSpace) {
        this.bytes = bytes;
        this.stripsLeadingSpace = stripsLeadingSpace;
    }

    /** What token {@code id} adds to the text; an id the vocabulary does not have reads {@code <token N>}. */
    public byte[] of(long id) {
        if (id < 0 || id >= bytes.length || bytes[(int) id] == null) return ("<token " + id + ">").getBytes(StandardCharsets.US_ASCII);
        return bytes[(int) id];
    }

    /** Whether the decoder drops one space at the start of a text (SentencePiece's word-start marker). */
    public boolean stripsLeadingSpace() {
        return stripsLeadingSpace;
    }

    /**
     * Reads {@code tokenizer.json}; {@code fallback} decodes one token for a decoder this class does not
     * know.
     */
    static TokenBytes load(Path tokenizerJson, LongFunction<String> fallback) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("could not read " + tokenizerJson + ": " + e.getMessage(), e);
        }
        Map<Integer, String> pieces = pieces(root.path("model"));
        Map<Integer, Boolean> special = new HashMap<>();
        for (JsonNode added : root.path("added_tokens")) {
            int id = added.path("id").asInt();
            pieces.put(id, added.path("content").asText());
            special.put(id, added.path("special").asBoolean(false));
        }
        List<JsonNode> decoders = new ArrayList<>();
        JsonNode decoder = root.path("decoder");
        if ("Sequence".equals(decoder.path("type").asText())) decoder.path("decoders").forEach(decoders::add);
        else if (!decoder.isMissingNode() && !decoder.isNull()) decoders.add(decoder);
        List<String> types = decoders.stream().map(d -> d.path("type").asText()).toList();
        boolean byteLevel = types.contains("ByteLevel");
        boolean sentencePiece = !byteLevel && (types.contains("Metaspace") || types.contains("ByteFallback")
                || decoders.stream().anyMatch(d -> "Replace".equals(d.path("type").asText()) && "▁".equals(d.path("pattern").path("String").asText())));
        boolean strip = sentencePiece && decoders.stream().anyMatch(d ->
                ("Strip".equals(d.path("type").asText()) && d.path("start").asInt() > 0)
                        || ("Metaspace".equals(d.path("type").asText()) && !"never".equals(d.path("prepend_scheme").asText())
                        && d.path("add_prefix_space").asBoolean(true)));
        int size = pieces.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        byte[][] table = new byte[size][];
        int[] byteLevelMap = byteLevel ? gpt2ByteDecoder() : null;
        for (Map.Entry<Integer, String> e : pieces.entrySet()) {
            int id = e.getKey();
            String piece = e.getValue();
            if (special.getOrDefault(id, false)) table[id] = NONE;
            else if (byteLevel) table[id] = byteLevelBytes(piece, byteLevelMap);
            else if (sentencePiece) table[id] = sentencePieceBytes(piece);
            else table[id] = fallback.apply(id).getBytes(StandardCharsets.UTF_8);
        }
        return new TokenBytes(table, strip);
    }

    /** Token id → piece for a BPE/WordPiece vocabulary (an object) or a Unigram one (a list of [piece, score]). */
    private static Map<Integer, String> pieces(JsonNode model) {
        Map<Integer, String> out = new HashMap<>();
        JsonNode vocab = model.path("vocab");
        if (vocab.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.put(e.getValue().asInt(), e.getKey());
            }
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) out.put(i, vocab.get(i).path(0).asText());
        }
        return out;
    }

    private static byte[] sentencePieceBytes(String piece) {
        Matcher m = BYTE_TOKEN.matcher(piece);
        if (m.matches()) return new byte[]{(byte) Integer.parseInt(m.group(1), 16)};
        return piece.replace('▁', ' ').getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] byteLevelBytes(String piece, int[] decoder) {
        byte[] out = new byte[piece.length()];
        int n = 0;
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            // A character outside GPT-2's byte alphabet (an added, non-special token) stands for itself.
            if (c >= decoder.length || decoder[c] < 0) return piece.getBytes(StandardCharsets.UTF_8);
            out[n++] = (byte) decoder[c];
        }
        return out;
    }

    /**
     * GPT-2's byte alphabet, inverted: the printable Latin-1 bytes stand for themselves, and the other 68
     * bytes are the characters from U+0100 upwards, in byte order.
     */
    private static int[] gpt2ByteDecoder() {
        int[] decoder = new int[256 + 68];
        java.util.Arrays.fill(decoder, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            decoder[printable ? b : 256 + extra++] = b;
        }
        return decoder;
    }
}
