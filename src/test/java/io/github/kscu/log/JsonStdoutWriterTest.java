package io.github.kscu.log;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonStdoutWriterTest {
    private static JsonObject line(String message, Throwable error) {
        String json = JsonStdoutWriter.format("2026-11-25T10:00:00Z", "INFO", "agent", message, error);
        assertThat(json).endsWith("}\n").doesNotContain("\n{");
        return JsonParser.parseString(json).getAsJsonObject();
    }

    @Test
    void fieldsBecomeMembers() {
        JsonObject o = line("startup taint removed node=ip-1 reason=StartupTaintRemoved took=12ms", null);
        assertThat(o.get("msg").getAsString()).isEqualTo("startup taint removed");
        assertThat(o.get("node").getAsString()).isEqualTo("ip-1");
        assertThat(o.get("reason").getAsString()).isEqualTo("StartupTaintRemoved");
        assertThat(o.get("took").getAsString()).isEqualTo("12ms");
        assertThat(o.get("level").getAsString()).isEqualTo("info");
        assertThat(o.get("logger").getAsString()).isEqualTo("agent");
        assertThat(o.get("time").getAsString()).isEqualTo("2026-11-25T10:00:00Z");
    }

    @Test
    void quotedValuesRoundTrip() {
        String value = "a \"quoted\" value with = and \\ inside";
        JsonObject o = line("failed node=n error=" + Fields.quote(value), null);
        assertThat(o.get("error").getAsString()).isEqualTo(value);
        assertThat(Fields.parse("x k=" + Fields.quote("")).fields()).isEqualTo(Map.of("k", ""));
    }

    @Test
    void freeTextWithoutFieldsAndControlCharacters() {
        JsonObject o = line("plain text\twith a tab\nand a newline", null);
        assertThat(o.get("msg").getAsString()).isEqualTo("plain text\twith a tab\nand a newline");
        assertThat(o.keySet()).containsExactly("time", "level", "logger", "msg");
    }

    @Test
    void reservedKeysCannotBeOverwritten() {
        JsonObject o = line("x level=fake time=fake node=n", null);
        assertThat(o.get("level").getAsString()).isEqualTo("info");
        assertThat(o.get("node").getAsString()).isEqualTo("n");
    }

    @Test
    void exceptionsCarryTheirStack() {
        JsonObject o = line("boom", new IllegalStateException("bad"));
        assertThat(o.get("exception").getAsString()).isEqualTo("java.lang.IllegalStateException: bad");
        assertThat(o.get("stack").getAsString()).contains("JsonStdoutWriterTest");
    }

    @Test
    void writesToAPipeLikeStream() throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        JsonStdoutWriter w = new JsonStdoutWriter(out);
        assertThat(w.getRequiredLogEntryValues()).isNotEmpty();
        w.flush();
        w.close();
        assertThat(out.size()).isZero();
    }

    @Test
    void quoteLeavesPlainValuesAlone() {
        assertThat(Fields.quote("ip-10-0-0-1")).isEqualTo("ip-10-0-0-1");
        assertThat(Fields.quote("has space")).isEqualTo("\"has space\"");
        assertThat(Fields.quote(null)).isEqualTo("null");
    }
}
