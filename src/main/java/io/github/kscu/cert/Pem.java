package io.github.kscu.cert;

import java.util.Arrays;
import java.util.Base64;

/** PEM over bytes: finding markers and decoding a block body, without ever making a String of a key. */
final class Pem {
    private Pem() {
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

    /** The base64 body between {@code from} and {@code to}, decoded; the caller wipes the result. */
    static byte[] decode(byte[] bytes, int from, int to) {
        byte[] body = Arrays.copyOfRange(bytes, from, to);
        try {
            return Base64.getMimeDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            return new byte[0]; // parses as nothing: reported by the caller as corrupt
        } finally {
            Arrays.fill(body, (byte) 0);
        }
    }
}
