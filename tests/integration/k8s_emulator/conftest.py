# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Clients of the kubernetes Python package configured from the stand-in's kubeconfig."""

from __future__ import annotations

import pytest
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient


@pytest.fixture
def api_client(k8s_emulator):
    api = config.new_client_from_config(config_file=k8s_emulator.kubeconfig)
    yield api
    api.close()


@pytest.fixture
def core_v1(api_client):
    return client.CoreV1Api(api_client)


@pytest.fixture
def dynamic(api_client):
    return DynamicClient(api_client)
