package io.github.kscu.cert;

import io.github.kscu.cert.CertCheck.NotYet;
import io.github.kscu.cert.CertCheck.Problem;
import io.github.kscu.cert.CertCheck.Valid;
import io.github.kscu.pem.KeyMatch;
import io.github.kscu.pem.Pem;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * Decides whether bytes hold a usable kubelet serving certificate. Pure apart from reading the file.
 *
 * <p>The kubelet's PEM carries the private key next to the certificate. The key is decoded only to find
 * the certificate that belongs to it, in an array wiped at once; the file's bytes are wiped before
 * returning, so key material never outlives a check.
 */
public final class CertificateValidator {
    /** Clocks of freshly booted nodes drift; a certificate issued "in a few seconds" is fine. */
    public static final Duration CLOCK_SKEW = Duration.ofSeconds(60);
    private static final int MAX_BYTES = 1 << 20;
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ANY_USAGE = "2.5.29.37.0";

    private final String nodeName;
    private final String address;
    private final boolean requireIdentity;

    /**
     * @param address         the host the apiserver dials to reach this kubelet (the kubelet source's
     *                        KUBELET_ADDRESS, by default HOST_IP), or {@code null} when it is not known
     * @param requireIdentity also require the subject {@code CN=system:node:<node-name>}
     */
    public CertificateValidator(String nodeName, String address, boolean requireIdentity) {
        this.nodeName = nodeName;
        this.address = address;
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

    /**
     * Checks PEM bytes: at least one CERTIFICATE block that parses. With a private key in the same bytes
     * (the kubelet's PEM), the leaf is the certificate that belongs to that key, whatever its position, and
     * there must be one; without a key, the first certificate is the leaf.
     *
     * <p>Scanned as bytes, never as a String: the key block is base64-decoded into an array that is
     * wiped as soon as its public half has been read, so key material does not outlive the check.
     */
    public CertCheck checkPem(byte[] bytes, Instant now) {
        if (bytes.length == 0) {
            return new NotYet(Problem.EMPTY, null);
        }
        if (!Pem.hasBlock(bytes)) {
            return new NotYet((bytes[0] & 0xff) == 0x30 ? Problem.DER : Problem.NO_CERTIFICATE, null);
        }
        List<X509Certificate> chain = new ArrayList<>();
        byte[] keyHalf = null;
        String keyProblem = null;
        Pem.Scanner blocks = new Pem.Scanner(bytes);
        try {
            for (Pem.Block b; (b = blocks.next()) != null; ) {
                if ("CERTIFICATE".equals(b.label())) {
                    try {
                        chain.add((X509Certificate) factory().generateCertificate(
                                new ByteArrayInputStream(Pem.decode(bytes, b))));
                    } catch (CertificateException e) {
                        return new NotYet(Problem.CORRUPT, e.getMessage());
                    }
                } else if (b.label().endsWith("PRIVATE KEY") && keyHalf == null && keyProblem == null) {
                    byte[] der = Pem.decode(bytes, b);
                    try {
                        keyHalf = KeyMatch.publicHalf(b.label(), der);
                    } catch (GeneralSecurityException | RuntimeException e) {
                        keyProblem = e.getMessage();
                    } finally {
                        Arrays.fill(der, (byte) 0);
                    }
                }
                // anything else (EC PARAMETERS...) is skipped
            }
        } catch (Pem.TruncatedException e) {
            return new NotYet(Problem.TRUNCATED, e.getMessage());
        }
        if (chain.isEmpty()) {
            return new NotYet(Problem.NO_CERTIFICATE, null);
        }
        if (keyProblem != null) {
            return new NotYet(Problem.KEY_UNREADABLE, keyProblem);
        }
        X509Certificate leaf = chain.getFirst();
        if (keyHalf != null) {
            byte[] half = keyHalf;
            leaf = chain.stream().filter(c -> KeyMatch.matches(half, c)).findFirst().orElse(null);
            if (leaf == null) {
                return new NotYet(Problem.KEY_MISMATCH, chain.size() + " certificate(s), none for the key");
            }
        }
        CertCheck checked = checkLeaf(leaf, now);
        return checked instanceof Valid valid ? checkAddress(leaf, valid) : checked;
    }

    /**
     * Checks a leaf certificate (shared by every certificate source): inside its validity window, not a
     * CA, serverAuth when it has an extended key usage, and its subject's CN (multi-valued RDNs
     * included) naming this node, which only warns unless identity is required: the apiserver does not
     * look at the subject (Go's TLS client checks the SANs only), so a CN from a signer that spells it
     * otherwise breaks nothing. The addresses are {@link #checkAddress}'s.
     */
    public CertCheck checkLeaf(X509Certificate leaf, Instant now) {
        Instant notBefore = leaf.getNotBefore().toInstant();
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (now.isAfter(notAfter)) {
            return new NotYet(Problem.EXPIRED, "notAfter " + notAfter);
        }
        if (now.plus(CLOCK_SKEW).isBefore(notBefore)) {
            return new NotYet(Problem.NOT_YET_VALID, "notBefore " + notBefore);
        }
        if (leaf.getBasicConstraints() >= 0) {
            return new NotYet(Problem.LEAF_IS_CA, leaf.getSubjectX500Principal().getName(X500Principal.RFC2253));
        }
        try {
            List<String> eku = leaf.getExtendedKeyUsage();
            if (eku != null && !eku.contains(SERVER_AUTH) && !eku.contains(ANY_USAGE)) {
                return new NotYet(Problem.NOT_SERVER_AUTH, "extended key usage " + eku);
            }
        } catch (CertificateParsingException e) {
            return new NotYet(Problem.CORRUPT, "extended key usage does not parse: " + e.getMessage());
        }
        String subject = leaf.getSubjectX500Principal().getName(X500Principal.RFC2253);
        String expected = "system:node:" + nodeName;
        String warning = null;
        if (!commonNames(subject).contains(expected)) {
            if (requireIdentity) {
                return new NotYet(Problem.IDENTITY_MISMATCH, "subject " + subject + ", expected CN=" + expected);
            }
            warning = "subject " + subject + " is not CN=" + expected;
        }
        return new Valid(subject, notBefore, notAfter, warning);
    }

    /**
     * What the apiserver itself checks when it dials the kubelet: the subject alternative names cover
     * the address it dials. Always required when the address is known: a certificate that fails it is
     * one the apiserver's {@code logs}, {@code exec} and {@code port-forward} calls refuse, the failure
     * this agent exists to prevent (a stale certificate for the node's old name and address, a PEM baked
     * into an image). Without an address (the file source with no HOST_IP, as the Go sample's manifests
     * run it), a DNS name equal to the node name stands in, and only warns unless identity is required:
     * the apiserver may dial an IP address that such a certificate does cover.
     */
    public CertCheck checkAddress(X509Certificate leaf, Valid valid) {
        if (address != null && Sans.includes(leaf, address)) {
            return valid;
        }
        if (address == null && Sans.hasDnsName(leaf, nodeName)) {
            return valid;
        }
        String problem = "subject alternative names do not include " + (address != null ? address
                : "DNS:" + nodeName);
        if (address != null || requireIdentity) {
            return new NotYet(Problem.IDENTITY_MISMATCH, problem);
        }
        return new Valid(valid.subject(), valid.notBefore(), valid.notAfter(),
                valid.identityWarning() == null ? problem : valid.identityWarning() + "; " + problem);
    }

    /** Every CN in an RFC 2253 name, multi-valued RDNs ({@code CN=a+O=b}) and escapes included. */
    static List<String> commonNames(String rfc2253) {
        List<String> out = new ArrayList<>(1);
        try {
            for (Rdn rdn : new LdapName(rfc2253).getRdns()) {
                Attribute cn = rdn.toAttributes().get("CN");
                if (cn != null) {
                    for (int i = 0; i < cn.size(); i++) {
                        out.add(String.valueOf(cn.get(i)));
                    }
                }
            }
        } catch (NamingException e) {
            // not an RFC 2253 name: no CN
        }
        return out;
    }

    private static CertificateFactory factory() throws CertificateException {
        return CertificateFactory.getInstance("X.509");
    }
}
