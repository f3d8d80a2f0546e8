package io.github.kscu.log;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Our log line convention: {@code event text key=value key="quoted value"}. {@link #quote} writes a
 * value so that {@link #parse} reads it back; the JSON writer uses the parse to emit fields as members.
 */
public final class Fields {
    private Fields() {
    }

    record Parsed(String text, Map<String, String> fields) {
    }

    /** A value safe to put after {@code key=}: quoted when it is empty or holds spaces, quotes or '='. */
    public static String quote(Object value) {
        String s = String.valueOf(value);
        boolean plain = !s.isEmpty();
        for (int i = 0; i < s.length() && plain; i++) {
            char c = s.charAt(i);
            plain = c > ' ' && c != '"' && c != '=' && c != '\\';
        }
        if (plain) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\');
            }
            b.append(c == '\n' ? ' ' : c);
        }
        return b.append('"').toString();
    }

    /**
     * Splits a message into its text and trailing fields. The text ends where the first {@code key=}
     * token starts; a message without fields is all text.
     */
    static Parsed parse(String message) {
        int start = firstFieldStart(message);
        if (start < 0) {
            return new Parsed(message, Map.of());
        }
        Map<String, String> fields = new LinkedHashMap<>();
        int i = start;
        int n = message.length();
        while (i < n) {
            while (i < n && message.charAt(i) == ' ') {
                i++;
            }
            int eq = message.indexOf('=', i);
            if (eq < 0) {
                break;
            }
            String key = message.substring(i, eq);
            i = eq + 1;
            StringBuilder value = new StringBuilder();
            if (i < n && message.charAt(i) == '"') {
                i++;
                while (i < n && message.charAt(i) != '"') {
                    char c = message.charAt(i);
                    if (c == '\\' && i + 1 < n) {
                        c = message.charAt(++i);
                    }
                    value.append(c);
                    i++;
                }
                i++; // closing quote
            } else {
                while (i < n && message.charAt(i) != ' ') {
                    value.append(message.charAt(i++));
                }
            }
            fields.put(key, value.toString());
        }
        return new Parsed(message.substring(0, start).strip(), fields);
    }

    private static int firstFieldStart(String message) {
        int tokenStart = 0;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            if (c == ' ') {
                tokenStart = i + 1;
            } else if (c == '=' && i > tokenStart && isKey(message, tokenStart, i)) {
                return tokenStart;
            } else if (c == '"') {
                return -1; // a quote before any key: free text, leave it alone
            }
        }
        return -1;
    }

    private static boolean isKey(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (!(Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.')) {
                return false;
            }
        }
        return true;
    }
}
