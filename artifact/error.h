/*
 * Error codes of the artifact layer.  They say what went wrong in terms of the
 * format; fs/ translates them to errno at the FUSE edge and nowhere else.
 */
#ifndef AF_ERROR_H
#define AF_ERROR_H

enum af_err {
	AF_OK = 0,
	AF_END,		/* no more entries: not an error, the end of a listing */
	AF_ENOMEM,
	AF_EIO,		/* reading the artifact file failed */
	AF_EFORMAT,	/* the bytes break the format */
	AF_ECORRUPT,	/* compressed data does not decompress */
	AF_ETRUNC,	/* the file ends inside something it promised */
	AF_ETOOBIG,	/* over one of our safety caps */
	AF_ENOENT,	/* no such member, entry or file */
	AF_ECANCELED,	/* the caller asked to stop */
};

const char *af_strerror(enum af_err err);

#endif
