/* SPDX-License-Identifier: MIT */
#ifndef _MVF_DK_PCIDRIVERKIT_H
#define _MVF_DK_PCIDRIVERKIT_H
#include <PCIDriverKit/IOPCIFamilyDefinitions.h>
#include <PCIDriverKit/IOPCIDevice.h>
#endif
