"""What a file's first bytes say: whether it can be a picture, video or sound at all.

The probe reads a file's first bytes before it asks a decoder about it, so
decoders never see files that merely have a media file's name (documents,
zeros, text); a decoder's complaint is slower to get than this check.
"""

from __future__ import annotations

HEAD = 512  # bytes read to tell media from files that only have a media file's name

# Signatures at the start of the formats in names.KINDS (and their containers).
_STARTS = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM",  # PNG, GIF, BMP
    b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+",  # TIFF, BigTIFF
    b"\x00\x00\x01\x00", b"\x00\x00\x02\x00",  # ICO, CUR
    b"\xff\x0a", b"\x00\x00\x00\x0cJXL ",  # JPEG XL
    b"RIFF", b"FORM",  # WebP, AVI, WAV; AIFF
    b"\x1a\x45\xdf\xa3",  # Matroska, WebM
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",  # ASF: WMV, WMA
    b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3",  # MPEG program stream, MPEG video
    b"FLV", b"OggS", b"fLaC", b"ID3", b"MAC ", b"#!AMR",  # FLV, Ogg, FLAC, MP3 tag, APE, AMR
)
# ISO base media (MP4, MOV, M4A, 3GP, HEIC, AVIF): a box type at offset 4.
_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid")


def looks_like_media(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts like a picture, video or sound format.

    Cheap and lenient: it only rules out what is obviously something else
    (text, zeros, documents), so decoders are not asked about files that
    merely have a media file's name.
    """
    if head.startswith(_STARTS) or head[4:8] in _BOXES:
        return True
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return True  # an MPEG audio frame (MP3) or AAC (ADTS) without a tag
    # MPEG transport stream: a sync byte every 188 bytes; M2TS: each after a 4-byte stamp.
    return head[0:1] == head[188:189] == b"\x47" or head[4:5] == head[196:197] == b"\x47"


def read_head(path: str) -> bytes:
    """The first HEAD bytes of the file at ``path``."""
    with open(path, "rb") as f:
        return f.read(HEAD)
