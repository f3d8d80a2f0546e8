package io.github.kscu.pem;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * PEM over bytes: finding blocks and decoding their bodies, without ever making a String of a key (a
 * String cannot be wiped; the caller wipes the bytes it decoded).
 */
public final class Pem {
    private static final byte[] BEGIN = "-----BEGIN ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DASHES = "-----".getBytes(StandardCharsets.US_ASCII);

    private Pem() {
    }

    /** One block: its label ({@code CERTIFICATE}, {@code EC PRIVATE KEY}...) and where its base64 body lies. */
    public record Block(String label, int bodyStart, int bodyEnd) {
    }

    /** A block that begins and does not end; its message says which. */
    public static final class TruncatedException extends Exception {
        private static final long serialVersionUID = 1L;

        TruncatedException(String detail) {
            super(detail);
        }
    }

    /** True when {@code bytes} has a BEGIN line at all. */
    public static boolean hasBlock(byte[] bytes) {
        return indexOf(bytes, BEGIN, 0) >= 0;
    }

    /** The blocks of {@code bytes} in order, one at a time, so that a caller can stop at the first it rejects. */
    public static final class Scanner {
        private final byte[] bytes;
        private int pos;

        public Scanner(byte[] bytes) {
            this.bytes = bytes;
        }

        /** The next block, or {@code null} after the last. */
        public Block next() throws TruncatedException {
            int begin = indexOf(bytes, BEGIN, pos);
            if (begin < 0) {
                return null;
            }
            int labelEnd = indexOf(bytes, DASHES, begin + BEGIN.length);
            if (labelEnd < 0) {
                throw new TruncatedException("BEGIN line is cut off");
            }
            String label = new String(bytes, begin + BEGIN.length, labelEnd - begin - BEGIN.length,
                    StandardCharsets.US_ASCII);
            byte[] endMarker = ("-----END " + label + "-----").getBytes(StandardCharsets.US_ASCII);
            int end = indexOf(bytes, endMarker, labelEnd);
            if (end < 0) {
                throw new TruncatedException(label);
            }
            pos = end + endMarker.length;
            return new Block(label, labelEnd + DASHES.length, end);
        }
    }

    /** The block's base64 body, decoded; the caller wipes the result. */
    public static byte[] decode(byte[] bytes, Block block) {
        byte[] body = Arrays.copyOfRange(bytes, block.bodyStart(), block.bodyEnd());
        try {
            return Base64.getMimeDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            return new byte[0]; // parses as nothing: reported by the caller as corrupt
        } finally {
            Arrays.fill(body, (byte) 0);
        }
    }

    /** Where {@code needle} starts in {@code hay} at or after {@code from}, or -1. */
    static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = Math.max(from, 0); i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
