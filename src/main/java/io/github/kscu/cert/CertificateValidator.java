package io.github.kscu.cert;

import io.github.kscu.cert.CertCheck.NotYet;
import io.github.kscu.cert.CertCheck.Problem;
import io.github.kscu.cert.CertCheck.Valid;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * Decides whether bytes hold a usable kubelet serving certificate. Pure apart from reading the file.
 *
 * <p>The kubelet's PEM carries the private key next to the certificate. Key blocks are skipped without
 * being decoded, and the buffer is wiped before returning, so key material never outlives a check.
 */
public final class CertificateValidator {
    /** Clocks of freshly booted nodes drift; a certificate issued "in a few seconds" is fine. */
    public static final Duration CLOCK_SKEW = Duration.ofSeconds(60);
    private static final int MAX_BYTES = 1 << 20;
    private static final String BEGIN = "-----BEGIN ";
    private static final String DASHES = "-----";

    private final String nodeName;
    private final boolean requireIdentity;

    public CertificateValidator(String nodeName, boolean requireIdentity) {
        this.nodeName = nodeName;
        this.requireIdentity = requireIdentity;
    }

    /** Reads and checks a file, following symlinks. */
    public CertCheck checkFile(Path file, Instant now) {
        byte[] bytes = null;
        try {
            if (!Files.exists(file)) {
                return Files.isSymbolicLink(file)
                        ? new NotYet(Problem.DANGLING_SYMLINK, file.toString())
                        : new NotYet(Problem.MISSING, file.toString());
            }
            if (!Files.isRegularFile(file)) {
                return new NotYet(Problem.NOT_A_FILE, file.toString());
            }
            long size = Files.size(file);
            if (size == 0) {
                return new NotYet(Problem.EMPTY, file.toString());
            }
            if (size > MAX_BYTES) {
                return new NotYet(Problem.TOO_LARGE, file.toString());
            }
            bytes = Files.readAllBytes(file);
            return checkPem(bytes, now);
        } catch (NoSuchFileException e) {
            // Swapped away between the checks above and the read: the next event brings the new one.
            return new NotYet(Files.isSymbolicLink(file) ? Problem.DANGLING_SYMLINK
                    : Problem.MISSING, file.toString());
        } catch (AccessDeniedException e) {
            return new NotYet(Problem.UNREADABLE, file + " (the kubelet's PEM is 0600 root: run as uid 0 or use"
                    + " --cert-source=kubelet)");
        } catch (IOException e) {
            return new NotYet(Problem.UNREADABLE, file + ": " + e.getMessage());
        } finally {
            if (bytes != null) {
                Arrays.fill(bytes, (byte) 0);
            }
        }
    }

    /** Checks PEM bytes: at least one CERTIFICATE block that parses; the first one is the leaf. */
    public CertCheck checkPem(byte[] bytes, Instant now) {
        if (bytes.length == 0) {
            return new NotYet(Problem.EMPTY, null);
        }
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        if (!text.contains(BEGIN)) {
            return new NotYet((bytes[0] & 0xff) == 0x30 ? Problem.DER : Problem.NO_CERTIFICATE, null);
        }
        List<X509Certificate> chain = new ArrayList<>();
        int pos = 0;
        while (true) {
            int begin = text.indexOf(BEGIN, pos);
            if (begin < 0) {
                break;
            }
            int labelEnd = text.indexOf(DASHES, begin + BEGIN.length());
            if (labelEnd < 0) {
                return new NotYet(Problem.TRUNCATED, "BEGIN line is cut off");
            }
            String label = text.substring(begin + BEGIN.length(), labelEnd);
            String endMarker = "-----END " + label + DASHES;
            int end = text.indexOf(endMarker, labelEnd);
            if (end < 0) {
                return new NotYet(Problem.TRUNCATED, label);
            }
            pos = end + endMarker.length();
            if (!"CERTIFICATE".equals(label)) {
                continue; // private keys and anything else: never decoded
            }
            String body = text.substring(labelEnd + DASHES.length(), end);
            try {
                byte[] der = Base64.getMimeDecoder().decode(body);
                chain.add((X509Certificate) factory().generateCertificate(new ByteArrayInputStream(der)));
            } catch (IllegalArgumentException | CertificateException e) {
                return new NotYet(Problem.CORRUPT, e.getMessage());
            }
        }
        if (chain.isEmpty()) {
            return new NotYet(Problem.NO_CERTIFICATE, null);
        }
        return checkLeaf(chain.getFirst(), now);
    }

    /** Checks a leaf certificate's validity window and identity (shared by every certificate source). */
    public CertCheck checkLeaf(X509Certificate leaf, Instant now) {
        Instant notBefore = leaf.getNotBefore().toInstant();
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (now.isAfter(notAfter)) {
            return new NotYet(Problem.EXPIRED, "notAfter " + notAfter);
        }
        if (now.plus(CLOCK_SKEW).isBefore(notBefore)) {
            return new NotYet(Problem.NOT_YET_VALID, "notBefore " + notBefore);
        }
        String subject = leaf.getSubjectX500Principal().getName(X500Principal.RFC2253);
        String expected = "system:node:" + nodeName;
        String warning = null;
        if (!expected.equals(commonName(subject))) {
            if (requireIdentity) {
                return new NotYet(Problem.IDENTITY_MISMATCH, "subject " + subject + ", expected CN=" + expected);
            }
            warning = "subject " + subject + " is not CN=" + expected;
        }
        return new Valid(subject, notBefore, notAfter, warning);
    }

    static String commonName(String rfc2253) {
        for (String rdn : rfc2253.split("(?<!\\\\),")) {
            if (rdn.regionMatches(true, 0, "CN=", 0, 3)) {
                return rdn.substring(3).replace("\\", "");
            }
        }
        return null;
    }

    private static CertificateFactory factory() throws CertificateException {
        return CertificateFactory.getInstance("X.509");
    }
}
