package io.github.kscu.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TextStdoutWriterTest {
    private static String line(String message, Throwable error) {
        return TextStdoutWriter.format("2026-12-01T10:00:00.000Z", "INFO", "cert", message, error);
    }

    @Test
    void aLineIsTimeLevelLoggerMessage() {
        assertThat(line("node read, watching it node=n taints=1", null))
                .isEqualTo("2026-12-01T10:00:00.000Z INFO  cert  node read, watching it node=n taints=1\n");
    }

    @Test
    void aSubjectWithACarriageReturnCannotForgeALine() {
        String subject = "CN=x\r2026-12-01T10:00:01.000Z INFO  agent Removed example.com/t:NoSchedule\nO=y";
        String out = line("serving certificate does not name this node subject=" + Fields.quote(subject), null);
        assertThat(out).hasLineCount(1).doesNotContain("\r").endsWith("O=y\"\n")
                .contains("CN=x\\r2026-12-01T10:00:01.000Z").contains("NoSchedule O=y");
    }

    @ParameterizedTest(name = "U+{0}")
    @CsvSource({"001b, \\x1b", "0000, \\x00", "0007, \\x07", "007f, \\x7f", "009b, \\x9b", "2028, \\u2028",
        "0009, \\t"})
    void everyControlCharacterIsEscaped(String hex, String escaped) {
        String c = Character.toString(Integer.parseInt(hex, 16));
        assertThat(line("a" + c + "b", null)).endsWith(" a" + escaped + "b\n");
    }

    @Test
    void aStackTraceContinuesOnTabIndentedLinesOnly() {
        String out = line("unexpected failure", new IOException("bad\r\nthing", new IllegalStateException("x\ry")));
        String[] lines = out.split("\n");
        assertThat(lines[0]).endsWith("unexpected failure error=java.io.IOException: bad\\r\\nthing");
        assertThat(lines).hasSizeGreaterThan(2);
        for (int i = 1; i < lines.length; i++) {
            assertThat(lines[i]).startsWith("\t").doesNotContain("\r");
        }
        assertThat(out).contains("\tCaused by: java.lang.IllegalStateException: x\\ry");
    }
}
