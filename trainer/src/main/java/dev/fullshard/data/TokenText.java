package dev.fullshard.data;

import java.io.ByteArrayOutputStream;
import java.util.HexFormat;

/**
 * Text of tokens as they arrive, decoded strictly as UTF-8. Bytes that end inside a character are held
 * back until the next token completes it; bytes that can never be text (a model emitting nonsense) are
 * shown as {@code \xNN}, never as U+FFFD, so a reader can tell a broken character from a real one.
 * {@link #finish} shows a character left unfinished at the end as escaped bytes as well.
 */
public final class TokenText {
    private final TokenBytes vocabulary;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private boolean atStart = true;

    public TokenText(TokenBytes vocabulary) {
        this.vocabulary = vocabulary;
    }

    /** The whole text of {@code ids}, as a text of its own (a leading word-start space is dropped). */
    public static String of(TokenBytes vocabulary, long[] ids) {
        TokenText text = new TokenText(vocabulary);
        StringBuilder out = new StringBuilder();
        for (long id : ids) out.append(text.append(id));
        return out.append(text.finish()).toString();
    }

    /** Adds one token; returns the text it completes (may be empty while a character is unfinished). */
    public String append(long id) {
        pending.writeBytes(vocabulary.of(id));
        return drain(false);
    }

    /** The bytes still held back, escaped; the stream is then empty. */
    public String finish() {
        return drain(true);
    }

    private String drain(boolean end) {
        byte[] b = pending.toByteArray();
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < b.length) {
            int lead = b[i] & 0xFF;
            int length = sequenceLength(b, i);
            if (length == 0) {                       // the bytes at i run out before the character ends
                if (!end) break;
                escape(out, lead);
                i++;
            } else if (length < 0) {                 // cannot start or continue a character here
                escape(out, lead);
                i++;
            } else {
                String s = new String(b, i, length, java.nio.charset.StandardCharsets.UTF_8);
                if (!(atStart && vocabulary.stripsLeadingSpace() && s.equals(" "))) out.append(s);
                atStart = false;
                i += length;
            }
        }
        pending.reset();
        pending.write(b, i, b.length - i);
        return out.toString();
    }

    private void escape(StringBuilder out, int b) {
        out.append("\\x").append(HexFormat.of().withUpperCase().toHexDigits((byte) b));
        atStart = false;
    }

    /**
     * Length of the well-formed UTF-8 character at {@code i} (Unicode's table 3-7: no overlong forms, no
     * surrogates, nothing above U+10FFFF), 0 when the bytes end before it does, -1 when it is malformed.
     */
    private static int sequenceLength(byte[] b, int i) {
        int lead = b[i] & 0xFF;
        if (lead < 0x80) return 1;
        int length, low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;
            if (lead == 0xED) high = 0x9F;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;
            if (lead == 0xF4) high = 0x8F;
        } else {
            return -1;
        }
        for (int k = 1; k < length; k++) {
            if (i + k >= b.length) return 0;
            int c = b[i + k] & 0xFF;
            if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return -1;
        }
        return length;
    }
}
