"""Who is knocking: the client address that login lockouts (django-axes) are counted under."""

from django.conf import settings


def client_ip_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the one our TRUSTED_PROXY_COUNT proxies saw.

    Each proxy appends the address it was called from to X-Forwarded-For, so with N
    proxies the N-th entry from the right is the client; entries further left were sent
    by the client itself and prove nothing.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote_addr
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if len(forwarded) < proxies:
        # A proxy that does not add the header: the best we know is who called us.
        return remote_addr
    return forwarded[-proxies]
