package io.github.kscu.pem;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough DER to walk a key structure (the elements inside a constructed element, as positions in
 * the caller's array) and to wrap one (a tag, a length, the contents). Walking copies nothing, so a
 * private key is never spread over more buffers than the one its caller wipes.
 */
public final class Der {
    private Der() {
    }

    /** One element: its tag, and where its contents lie in the array. */
    public record Element(int tag, int start, int length) {
        public int end() {
            return start + length;
        }
    }

    /** The element that starts at {@code at}. */
    public static Element read(byte[] der, int at, int limit) throws GeneralSecurityException {
        if (at + 2 > limit) {
            throw new GeneralSecurityException("malformed DER: element cut off");
        }
        int tag = der[at] & 0xff;
        int first = der[at + 1] & 0xff;
        int pos = at + 2;
        int length = first;
        if (first >= 0x80) {
            int octets = first & 0x7f;
            if (octets == 0 || octets > 3 || pos + octets > limit) {
                throw new GeneralSecurityException("malformed DER: bad length");
            }
            length = 0;
            for (int i = 0; i < octets; i++) {
                length = (length << 8) | (der[pos++] & 0xff);
            }
        }
        if (pos + length > limit) {
            throw new GeneralSecurityException("malformed DER: element longer than its container");
        }
        return new Element(tag, pos, length);
    }

    /** The elements inside {@code parent} (a SEQUENCE, a context tag, an OCTET STRING holding DER). */
    public static List<Element> children(byte[] der, Element parent) throws GeneralSecurityException {
        List<Element> out = new ArrayList<>(4);
        int pos = parent.start();
        while (pos < parent.end()) {
            Element e = read(der, pos, parent.end());
            out.add(e);
            pos = e.end();
        }
        return out;
    }

    /** The whole array as one element. */
    public static Element root(byte[] der) throws GeneralSecurityException {
        return read(der, 0, der.length);
    }

    /** One element: {@code tag}, the definite length, {@code content}. */
    public static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    public static byte[] sequence(byte[]... contents) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] c : contents) {
            out.writeBytes(c);
        }
        return tlv(0x30, out.toByteArray());
    }
}
