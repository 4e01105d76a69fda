'''Shared by the interop scripts: registrar address parsing and the
transport it implies.'''


def addr(spec):
    '''"tcp:HOST:PORT" -> (host, port); "uds:DIR:FILE" -> (dir, file).'''
    kind, a, b = spec.split(':', 2)
    return (a, int(b)) if kind == 'tcp' else (a, b)


def transports(reg):
    '''The transport list for a root actor using registrar `reg`.'''
    return ['tcp' if isinstance(reg[1], int) else 'uds']
