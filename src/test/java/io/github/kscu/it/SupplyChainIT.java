package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the release and the build trust: actions pinned by commit, an image that is not root by default,
 * a Maven download checked against its SHA-256, and a signature check that names exactly our workflow.
 * An IT because the wrapper's check downloads Maven from Maven Central, as a fresh machine does.
 */
class SupplyChainIT {
    private static final Pattern USES = Pattern.compile("^\\s*-?\\s*uses:\\s*(\\S+)(.*)$", Pattern.MULTILINE);
    private static final Pattern PINNED = Pattern.compile("[-\\w.]+/[-\\w.]+@[0-9a-f]{40}");
    private static final String IDENTITY = "https://github.com/kubelet-server-cert-untaint/kubelet-server-cert-untaint"
            + "/.github/workflows/release.yaml@refs/tags/";

    static Stream<Path> workflows() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(".github/workflows"))) {
            return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList().stream();
        }
    }

    /** A tag can be moved to other code; a commit cannot. The release job holds id-token and packages write. */
    @ParameterizedTest
    @MethodSource("workflows")
    void everyActionIsPinnedByCommitWithItsTagInAComment(Path workflow) throws IOException {
        Matcher m = USES.matcher(Files.readString(workflow));
        List<String> uses = new ArrayList<>();
        while (m.find()) {
            uses.add(m.group(1));
            assertThat(m.group(1)).as("%s: %s", workflow, m.group()).matches(PINNED);
            assertThat(m.group(2)).as("%s: %s names its tag", workflow, m.group()).matches("\\s+# v\\d+(\\.\\d+)*");
        }
        assertThat(uses).as("uses: lines of %s", workflow).isNotEmpty();
    }

    /** The image's own user, for a pod that sets none: numeric (runAsNonRoot can only check a number), not 0. */
    @Test
    void theImageRunsAsANonRootUidUnlessThePodSaysOtherwise() throws IOException {
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        String last = dockerfile.substring(dockerfile.lastIndexOf("\nFROM "));
        Matcher user = Pattern.compile("(?m)^USER\\s+(\\S+)\\s*$").matcher(last);
        assertThat(user.find()).as("a USER in the final stage").isTrue();
        assertThat(user.group(1)).isEqualTo("65532:65532");
    }

    @ParameterizedTest
    @ValueSource(strings = {"v0.1.0", "v1.12.3", "v2.0.0-rc.1"})
    void theCosignIdentityMatchesOurReleaseTags(String tag) throws IOException {
        assertThat(IDENTITY + tag).matches(cosignIdentity());
    }

    /** What an unanchored or unescaped pattern lets through. */
    @ParameterizedTest
    @ValueSource(strings = {
        "https://github.com/attacker/x/.github/workflows/a.yaml?https://github.com/kubelet-server-cert-untaint/"
                + "kubelet-server-cert-untaint/.github/workflows/release.yaml@refs/tags/v1.0.0",
        "https://github.com/kubelet-server-cert-untaint/kubelet-server-cert-untaint/.github/workflows/release.yaml"
                + "@refs/tags/v1.0.0/../../heads/attacker",
        "https://githubXcom/kubelet-server-cert-untaint/kubelet-server-cert-untaint/.github/workflows/release.yaml"
                + "@refs/tags/v1.0.0",
        "https://github.com/kubelet-server-cert-untaint/kubelet-server-cert-untaint/.github/workflows/releaseXyaml"
                + "@refs/tags/v1.0.0",
        "https://github.com/kubelet-server-cert-untaint/kubelet-server-cert-untaint/.github/workflows/release.yaml"
                + "@refs/heads/v1.0.0"})
    void theCosignIdentityRefusesLookalikes(String identity) throws IOException {
        // cosign matches with Go's regexp: find, not a whole-string match, so only anchors stop a lookalike.
        assertThat(cosignIdentity().matcher(identity).find()).isFalse();
    }

    private static Pattern cosignIdentity() throws IOException {
        Matcher m = Pattern.compile("--certificate-identity-regexp '([^']+)'").matcher(Files.readString(Path.of("docs/install.md")));
        assertThat(m.find()).as("the cosign verify line of docs/install.md").isTrue();
        return Pattern.compile(m.group(1));
    }

    /** The shipped sum is Maven Central's file (a fresh download passes), and a wrong sum stops the wrapper. */
    @Test
    void theMavenWrapperChecksItsDownloadAgainstTheShippedSha256(@TempDir Path dir) throws Exception {
        String properties = Files.readString(Path.of(".mvn/wrapper/maven-wrapper.properties"));
        Matcher sum = Pattern.compile("(?m)^distributionSha256Sum=([0-9a-f]{64})$").matcher(properties);
        assertThat(sum.find()).as("distributionSha256Sum in maven-wrapper.properties").isTrue();

        Path good = project(dir.resolve("good"), properties);
        assertThat(wrapper(good, dir.resolve("home-good"))).contains("Apache Maven 3.");

        String flipped = sum.group(1).charAt(0) == '0' ? "1" + sum.group(1).substring(1) : "0" + sum.group(1).substring(1);
        Path bad = project(dir.resolve("bad"), properties.replace(sum.group(1), flipped));
        assertThat(wrapper(bad, dir.resolve("home-bad"))).contains("Failed to validate Maven distribution SHA-256")
                .doesNotContain("Apache Maven 3.");
    }

    private static Path project(Path dir, String properties) throws IOException {
        Files.createDirectories(dir.resolve(".mvn/wrapper"));
        Files.copy(Path.of("mvnw"), dir.resolve("mvnw"));
        Files.writeString(dir.resolve(".mvn/wrapper/maven-wrapper.properties"), properties);
        return dir;
    }

    private static String wrapper(Path project, Path mavenHome) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "mvnw", "--version").directory(project.toFile())
                .redirectErrorStream(true);
        pb.environment().put("MAVEN_USER_HOME", mavenHome.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
