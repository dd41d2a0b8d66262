#!/usr/bin/python3
"""Stand-ins for the D-Bus services that cannot run on the test machine: systemd-logind,
UDisks2 and a desktop's notification daemon. Each speaks the real interface (names, paths,
signatures from ../shared/reference), answers from a scenario file, and records every call as a
JSON line. They never do anything: PowerOff and ScheduleShutdown are only written down.

Python with dbus-python because logind's Inhibit returns a file descriptor (D-Bus fd passing,
which Node's dbus-next cannot do without a native add-on that does not build here).

Usage: dbus_standin.py logind|udisks|notifications --bus ADDRESS --scenario FILE --record FILE
"""
import argparse
import json
import os
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

LOGIN1 = "org.freedesktop.login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
UDISKS = "org.freedesktop.UDisks2"
NOTIFICATIONS = "org.freedesktop.Notifications"


class Recorder:
    def __init__(self, path, bus):
        self.path = path
        self.bus = bus

    def __call__(self, method, args, sender=None):
        entry = {"method": method, "args": args, "time": time.time()}
        if sender is not None:
            try:
                entry["senderUid"] = int(self.bus.get_unix_user(sender))
            except dbus.DBusException:
                entry["senderUid"] = None
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def plain(value):
    """dbus types -> JSON-able values."""
    if isinstance(value, (dbus.Array, list, tuple, dbus.Struct)):
        return [plain(item) for item in value]
    if isinstance(value, (dbus.Dictionary, dict)):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(value)
    if isinstance(value, dbus.Double):
        return float(value)
    return str(value)


class PropertiesMixin:
    """org.freedesktop.DBus.Properties over a dict of interface -> {name: dbus value}."""

    def properties(self):
        raise NotImplementedError

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        try:
            return self.properties()[interface][name]
        except KeyError:
            raise dbus.exceptions.DBusException(
                f"No property {interface}.{name}", name="org.freedesktop.DBus.Error.UnknownProperty"
            )

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return dbus.Dictionary(self.properties().get(interface, {}), signature="sv")


class Session(PropertiesMixin, dbus.service.Object):
    def __init__(self, bus, spec):
        self.spec = spec
        super().__init__(bus, f"/org/freedesktop/login1/session/{spec['id']}")

    def properties(self):
        s = self.spec
        return {
            SESSION: {
                "Id": dbus.String(s["id"]),
                "Name": dbus.String(s["user"]),
                "User": dbus.Struct((dbus.UInt32(s["uid"]), dbus.ObjectPath(f"/org/freedesktop/login1/user/_{s['uid']}")), signature="uo"),
                "Seat": dbus.Struct((dbus.String(s.get("seat", "")), dbus.ObjectPath("/org/freedesktop/login1/seat/" + (s.get("seat") or "none"))), signature="so"),
                "Type": dbus.String(s.get("type", "tty")),
                "Class": dbus.String(s.get("class", "user")),
                "Active": dbus.Boolean(s.get("active", True)),
                "Remote": dbus.Boolean(s.get("remote", False)),
                "State": dbus.String(s.get("state", "active")),
                "Display": dbus.String(s.get("display", "")),
                "LockedHint": dbus.Boolean(s.get("locked", False)),
            }
        }


class Manager(PropertiesMixin, dbus.service.Object):
    def __init__(self, bus, scenario, record):
        super().__init__(bus, "/org/freedesktop/login1")
        self.bus = bus
        self.scenario = scenario
        self.record = record
        self.sessions = [Session(bus, spec) for spec in scenario.get("sessions", [])]
        self.live_inhibitors = {}

    def properties(self):
        return {MANAGER: {"NCurrentSessions": dbus.UInt64(len(self.sessions)), "BlockInhibited": dbus.String(""), "DelayInhibited": dbus.String("")}}

    def delay(self):
        # A scenario can make logind slow, to prove every call has a timeout.
        time.sleep(self.scenario.get("delaySeconds", 0))

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(susso)", sender_keyword="sender")
    def ListSessions(self, sender=None):
        self.record("ListSessions", [], sender)
        self.delay()
        return [
            (s.spec["id"], dbus.UInt32(s.spec["uid"]), s.spec["user"], s.spec.get("seat", ""), dbus.ObjectPath(s._object_path))
            for s in self.sessions
        ]

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(ssssuu)", sender_keyword="sender")
    def ListInhibitors(self, sender=None):
        self.record("ListInhibitors", [], sender)
        self.delay()
        fixed = [tuple(item) for item in self.scenario.get("inhibitors", [])]
        live = [entry["tuple"] for entry in self.live_inhibitors.values()]
        return dbus.Array(
            [(w, who, why, mode, dbus.UInt32(uid), dbus.UInt32(pid)) for (w, who, why, mode, uid, pid) in fixed + live],
            signature="(ssssuu)",
        )

    @dbus.service.method(MANAGER, in_signature="ssss", out_signature="h", sender_keyword="sender")
    def Inhibit(self, what, who, why, mode, sender=None):
        read_end, write_end = os.pipe()
        uid = int(self.bus.get_unix_user(sender))
        pid = int(self.bus.get_unix_process_id(sender)) if hasattr(self.bus, "get_unix_process_id") else 0
        self.live_inhibitors[read_end] = {"tuple": (str(what), str(who), str(why), str(mode), uid, pid)}
        self.record("Inhibit", [str(what), str(who), str(why), str(mode)], sender)

        def released(fd, _condition):
            entry = self.live_inhibitors.pop(fd, None)
            os.close(fd)
            self.record("InhibitReleased", list(entry["tuple"][:4]) if entry else [])
            return False

        GLib.io_add_watch(read_end, GLib.IO_HUP | GLib.IO_ERR | GLib.IO_IN, released)
        fd = dbus.types.UnixFd(write_end)
        os.close(write_end)  # UnixFd keeps its own duplicate; the caller's copy is the only one left
        return fd

    @dbus.service.method(MANAGER, in_signature="b", out_signature="", sender_keyword="sender")
    def PowerOff(self, interactive, sender=None):
        self.record("PowerOff", [bool(interactive)], sender)
        self.delay()

    @dbus.service.method(MANAGER, in_signature="t", out_signature="", sender_keyword="sender")
    def PowerOffWithFlags(self, flags, sender=None):
        self.record("PowerOffWithFlags", [int(flags)], sender)

    @dbus.service.method(MANAGER, in_signature="st", out_signature="", sender_keyword="sender")
    def ScheduleShutdown(self, kind, usec, sender=None):
        self.record("ScheduleShutdown", [str(kind), int(usec)], sender)
        self.delay()

    @dbus.service.method(MANAGER, in_signature="", out_signature="b", sender_keyword="sender")
    def CancelScheduledShutdown(self, sender=None):
        self.record("CancelScheduledShutdown", [], sender)
        return True

    @dbus.service.method(MANAGER, in_signature="", out_signature="s", sender_keyword="sender")
    def CanPowerOff(self, sender=None):
        self.record("CanPowerOff", [], sender)
        return self.scenario.get("canPowerOff", "yes")


class UDisksManager(dbus.service.Object):
    def __init__(self, bus, scenario, record):
        super().__init__(bus, "/org/freedesktop/UDisks2/Manager")
        self.scenario = scenario
        self.record = record

    @dbus.service.method(UDISKS + ".Manager", in_signature="a{sv}a{sv}", out_signature="ao", sender_keyword="sender")
    def ResolveDevice(self, devspec, options, sender=None):
        self.record("ResolveDevice", [plain(devspec), plain(options)], sender)
        wanted = str(devspec.get("uuid", "")).lower()
        return dbus.Array(
            [dbus.ObjectPath(block["path"]) for block in self.scenario.get("blocks", []) if block["uuid"].lower() == wanted],
            signature="o",
        )


class UDisksBlock(PropertiesMixin, dbus.service.Object):
    def __init__(self, bus, spec):
        super().__init__(bus, spec["path"])
        self.spec = spec

    def properties(self):
        device = dbus.Array([dbus.Byte(b) for b in self.spec["device"].encode() + b"\0"], signature="y")
        return {UDISKS + ".Block": {"Device": device, "IdUUID": dbus.String(self.spec["uuid"]), "Drive": dbus.ObjectPath(self.spec["drive"])}}


class UDisksDrive(PropertiesMixin, dbus.service.Object):
    def __init__(self, bus, spec, record):
        super().__init__(bus, spec["path"])
        self.spec = spec
        self.record = record

    def properties(self):
        return {UDISKS + ".Drive": {"CanPowerOff": dbus.Boolean(self.spec.get("canPowerOff", True)), "ConnectionBus": dbus.String("usb"), "Removable": dbus.Boolean(True)}}

    @dbus.service.method(UDISKS + ".Drive", in_signature="a{sv}", out_signature="", sender_keyword="sender")
    def PowerOff(self, options, sender=None):
        self.record("Drive.PowerOff", [self.spec["path"], plain(options)], sender)


class Notifications(dbus.service.Object):
    def __init__(self, bus, record):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.record = record
        self.next_id = 1

    @dbus.service.method(NOTIFICATIONS, in_signature="susssasa{sv}i", out_signature="u", sender_keyword="sender")
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout, sender=None):
        self.record("Notify", [str(app_name), int(replaces_id), str(app_icon), str(summary), str(body), plain(actions), plain(hints), int(expire_timeout)], sender)
        self.next_id += 1
        return dbus.UInt32(self.next_id - 1)

    @dbus.service.method(NOTIFICATIONS, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("immich-backup-agent test stand-in", "immich-backup-agent", "1", "1.2")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["logind", "udisks", "notifications"])
    parser.add_argument("--bus", required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--record", required=True)
    options = parser.parse_args()
    with open(options.scenario, encoding="utf-8") as handle:
        scenario = json.load(handle)

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(options.bus)
    record = Recorder(options.record, bus)
    keep = []
    if options.kind == "logind":
        name = dbus.service.BusName(LOGIN1, bus)
        keep.append(Manager(bus, scenario, record))
    elif options.kind == "udisks":
        name = dbus.service.BusName(UDISKS, bus)
        keep.append(UDisksManager(bus, scenario, record))
        keep.extend(UDisksBlock(bus, block) for block in scenario.get("blocks", []))
        keep.extend(UDisksDrive(bus, drive, record) for drive in scenario.get("drives", []))
    else:
        name = dbus.service.BusName(NOTIFICATIONS, bus)
        keep.append(Notifications(bus, record))
    print("ready", flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    loop.run()
    del name, keep


if __name__ == "__main__":
    sys.exit(main())
